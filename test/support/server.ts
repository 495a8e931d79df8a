/**
 * Test helpers that run the built `fos` binary as a child process: a server on 127.0.0.1
 * with an ephemeral port in a temporary data folder, and account set-up through
 * `fos user add`. Tests run after `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built command line entry point. */
export const FOS_BIN = fileURLToPath(new URL('../../bin/fos.js', import.meta.url));

/** bcrypt cost used by test accounts: the lowest bcrypt allows, so logins stay fast. */
export const TEST_BCRYPT_COST = 4;

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 30_000;

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Data folder to use; a fresh temporary one (removed by `dispose`) when absent. */
  readonly dataDir?: string;
  /** Extra arguments after `fos server --data … --host … --port …`. */
  readonly args?: readonly string[];
  /** Extra environment variables for the server process. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for `listening` (default 20 s; a data folder with many files takes longer). */
  readonly startTimeoutMs?: number;
}

/** A running `fos server` child process. */
export interface TestServer {
  readonly host: string;
  /** The port it listens on (may change after `restart` if the old one was taken). */
  readonly port: number;
  readonly dataDir: string;
  /** The current child process. */
  readonly process: ChildProcess;
  /** Everything the current and earlier processes wrote to stdout and stderr. */
  logs(): string;
  /** Parsed JSON log lines so far (lines that are not JSON are skipped). */
  logRecords(): Record<string, unknown>[];
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  /** Starts a new process on the same data folder, on the same port when it is free. */
  restart(): Promise<TestServer>;
  /** Kills the process if it still runs and removes the data folder if this helper made it. */
  dispose(): Promise<void>;
}

interface Running {
  readonly child: ChildProcess;
  readonly host: string;
  readonly port: number;
  readonly exited: Promise<number | null>;
}

/**
 * Spawns `node bin/fos.js server` and resolves once it logs `listening`.
 * @throws Error with the server's output when it exits or stays silent for 20 s.
 */
export async function startServer(options: StartServerOptions = {}): Promise<TestServer> {
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'fos-test-')));
  let output = '';
  const append = (text: string): void => {
    output += text;
  };
  let running = await spawnServer(dataDir, 0, options, append);

  const handle: TestServer = {
    get host() {
      return running.host;
    },
    get port() {
      return running.port;
    },
    dataDir,
    get process() {
      return running.child;
    },
    logs: () => output,
    logRecords: () => parseRecords(output),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill(signal);
      return withTimeout(running.exited, STOP_TIMEOUT_MS, `server did not exit after ${signal}`);
    },
    async kill() {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
      await running.exited;
    },
    async restart() {
      await handle.kill();
      try {
        running = await spawnServer(dataDir, running.port, options, append);
      } catch {
        // The old port may have been taken meanwhile: any free port will do.
        running = await spawnServer(dataDir, 0, options, append);
      }
      return handle;
    },
    async dispose() {
      await handle.kill();
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

async function spawnServer(
  dataDir: string,
  port: number,
  options: StartServerOptions,
  append: (text: string) => void,
): Promise<Running> {
  const args = [FOS_BIN, 'server', '--data', dataDir, '--host', '127.0.0.1', '--port', String(port), ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, FOS_BCRYPT_COST: String(TEST_BCRYPT_COST), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
  });
  let pending = '';
  const address = new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not log "listening" in time')), options.startTimeoutMs ?? START_TIMEOUT_MS);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      append(text);
      pending += text;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const record = parseRecord(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (record !== null && record['msg'] === 'listening') {
          const host = record['host'];
          const listenPort = record['port'];
          if (typeof host === 'string' && typeof listenPort === 'number') {
            clearTimeout(timer);
            resolve({ host, port: listenPort });
          }
        }
        newline = pending.indexOf('\n');
      }
    });
    child.stderr?.on('data', append);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${String(code)} before listening`));
    });
  });
  try {
    const { host, port: listenPort } = await address;
    return { child, host, port: listenPort, exited };
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw err;
  }
}

/** Options of {@link addUser}. */
export interface AddUserOptions {
  /** Extra environment for the command. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Result of running the `fos` binary. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node bin/fos.js ARGS` with `input` on stdin and resolves with its output.
 * @throws Error when the command runs longer than 30 s.
 */
export async function runFos(
  args: readonly string[],
  input = '',
  env: Readonly<Record<string, string>> = {},
): Promise<RunResult> {
  const child = spawn(process.execPath, [FOS_BIN, ...args], {
    env: { ...process.env, FOS_BCRYPT_COST: String(TEST_BCRYPT_COST), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
  });
  child.stdin.end(input);
  try {
    const code = await withTimeout(exited, STOP_TIMEOUT_MS, `fos ${args.join(' ')} did not finish`);
    return { code, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/**
 * Creates an account with `fos user add NAME --data DIR --password-stdin --cost 4`.
 * @throws Error with the command's output when it fails.
 */
export async function addUser(dataDir: string, name: string, password: string, options: AddUserOptions = {}): Promise<void> {
  const args = ['user', 'add', name, '--data', dataDir, '--password-stdin', '--cost', String(TEST_BCRYPT_COST)];
  const result = await runFos(args, `${password}\n`, options.env);
  if (result.code !== 0) {
    throw new Error(`fos user add ${name} failed (${String(result.code)}): ${result.stderr}${result.stdout}`);
  }
}

function parseRecords(text: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const record = parseRecord(line);
    if (record !== null) records.push(record);
  }
  return records;
}

function parseRecord(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    // Not a JSON log line (pretty output or a stray print): not a record.
    return null;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The first line of `fos server --print-fingerprint --data DIR`: the server's TLS
 * certificate fingerprint (`SHA256:…`).
 * @throws Error with the command's output when it fails.
 */
export async function printFingerprint(dataDir: string): Promise<string> {
  const result = await runFos(['server', '--print-fingerprint', '--data', dataDir]);
  const first = result.stdout.split('\n')[0] ?? '';
  if (result.code !== 0 || first === '') throw new Error(`fos server --print-fingerprint failed (${String(result.code)}): ${result.stderr}`);
  return first;
}
