/**
 * The fos processes of the reliability tests and the soak: `fos server` and `fos agent`
 * children of the built binary, each with its output kept (bounded) and parsed as JSON
 * log records, `kill -9` and restart; and one-shot commands (`fos user add`, `fos init`,
 * `fos status --json`). Used from vitest (source) and from `npm run soak` (built).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** bcrypt cost of test accounts: the lowest bcrypt allows, so logins stay fast. */
export const TEST_BCRYPT_COST = 4;
/** Output kept per process, newest last. */
const KEEP_CHARS = 512 * 1024;
const START_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 60_000;

/** The built entry point, found from the source tree (vitest) or from dist/ (the soak). */
export const FOS_BIN: string = (() => {
  for (const relative of ['../bin/fos.js', '../../bin/fos.js']) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('bin/fos.js not found: run `npm run build` first');
})();

/** The environment every fos child gets. */
function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { ...process.env, FOS_BCRYPT_COST: String(TEST_BCRYPT_COST), ...extra };
}

/** A parsed JSON log line. */
export type LogRecord = Readonly<Record<string, unknown>>;

/** Keeps a child's output, bounded, and its JSON records. */
class Output {
  #text = '';
  #partial = '';
  readonly records: LogRecord[] = [];
  readonly #onRecord: (record: LogRecord) => void;

  constructor(onRecord: (record: LogRecord) => void = () => undefined) {
    this.#onRecord = onRecord;
  }

  attach(child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (text: string) => this.#add(text));
    }
  }

  #add(text: string): void {
    this.#text = (this.#text + text).slice(-KEEP_CHARS);
    this.#partial += text;
    let newline = this.#partial.indexOf('\n');
    while (newline >= 0) {
      const record = parseRecord(this.#partial.slice(0, newline));
      this.#partial = this.#partial.slice(newline + 1);
      if (record !== null) {
        this.records.push(record);
        if (this.records.length > 20_000) this.records.splice(0, 10_000);
        this.#onRecord(record);
      }
      newline = this.#partial.indexOf('\n');
    }
  }

  get text(): string {
    return this.#text;
  }
}

function parseRecord(line: string): LogRecord | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LogRecord) : null;
  } catch {
    // A line cut by kill -9 or a stray print: not a record.
    return null;
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (!isRunning(child)) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Options of {@link FosServer.start}. */
export interface FosServerOptions {
  readonly dataDir: string;
  /** Extra arguments after `fos server --data … --host 127.0.0.1 --port …`. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** A `fos server` child on 127.0.0.1 that can be killed and restarted on its data folder. */
export class FosServer {
  readonly dataDir: string;
  readonly #options: FosServerOptions;
  readonly #output = new Output();
  #child: ChildProcess | null = null;
  #port = 0;
  /** Starts so far. */
  starts = 0;

  private constructor(options: FosServerOptions) {
    this.dataDir = options.dataDir;
    this.#options = options;
  }

  /**
   * Starts a server and resolves once it logs `listening`.
   * @throws Error with the server's output when it exits first or stays silent for 30 s.
   */
  static async start(options: FosServerOptions): Promise<FosServer> {
    const server = new FosServer(options);
    await server.restart();
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get isRunning(): boolean {
    return this.#child !== null && isRunning(this.#child);
  }

  logs(): string {
    return this.#output.text;
  }

  records(): readonly LogRecord[] {
    return this.#output.records;
  }

  /** SIGKILL (kill -9) and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    if (isRunning(child)) child.kill('SIGKILL');
    await exitOf(child);
  }

  /** SIGTERM and wait (SIGKILL after 30 s). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    if (isRunning(child)) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exitOf(child);
    clearTimeout(timer);
  }

  /**
   * Kills the running process (if any) and starts a new one on the same data folder, on
   * the same port when it is free.
   * @throws Error when the new process does not start.
   */
  async restart(): Promise<void> {
    await this.kill();
    try {
      await this.#spawn(this.#port);
    } catch (err) {
      if (this.#port === 0) throw err;
      // The old port was taken meanwhile: any free one will do (the proxy follows).
      await this.#spawn(0);
    }
    this.starts += 1;
  }

  async #spawn(port: number): Promise<void> {
    const args = [FOS_BIN, 'server', '--data', this.dataDir, '--host', '127.0.0.1', '--port', String(port), ...(this.#options.args ?? [])];
    const child = spawn(process.execPath, args, { env: childEnv(this.#options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#output.attach(child);
    const seen = this.#output.records.length;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const listening = this.#output.records.slice(seen).find((r) => r['msg'] === 'listening' && typeof r['port'] === 'number');
      if (listening !== undefined) {
        this.#port = listening['port'] as number;
        return;
      }
      if (!isRunning(child) || Date.now() > deadline) {
        if (isRunning(child)) child.kill('SIGKILL');
        await exitOf(child);
        throw new Error(`fos server did not start: ${this.#output.text.slice(-2000)}`);
      }
      await delay(20);
    }
  }
}

/** A `fos agent --config FILE` child that can be killed and started again. */
export class FosAgent {
  readonly config: string;
  readonly #output = new Output();
  readonly #env: Readonly<Record<string, string>>;
  #child: ChildProcess | null = null;
  starts = 0;

  constructor(config: string, env: Readonly<Record<string, string>> = {}) {
    this.config = config;
    this.#env = env;
  }

  get isRunning(): boolean {
    return this.#child !== null && isRunning(this.#child);
  }

  /** The exit code of the last process, null while it runs or when killed by a signal. */
  get exitCode(): number | null {
    return this.#child?.exitCode ?? null;
  }

  logs(): string {
    return this.#output.text;
  }

  records(): readonly LogRecord[] {
    return this.#output.records;
  }

  /** Starts the agent (no-op while one runs). */
  start(): void {
    if (this.isRunning) return;
    const child = spawn(process.execPath, [FOS_BIN, 'agent', '--config', this.config], { env: childEnv(this.#env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#output.attach(child);
    this.starts += 1;
  }

  /** SIGKILL and wait. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    if (isRunning(child)) child.kill('SIGKILL');
    await exitOf(child);
  }

  /** SIGTERM and wait for the exit code (SIGKILL after 20 s). */
  async stop(): Promise<number | null> {
    const child = this.#child;
    if (child === null) return null;
    if (isRunning(child)) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exitOf(child);
    clearTimeout(timer);
    return code;
  }
}

/** What a one-shot command printed. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `fos ARGS` to completion with `input` on stdin.
 * @throws Error when it runs longer than 60 s.
 */
export async function runFos(args: readonly string[], input = '', env: Readonly<Record<string, string>> = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [FOS_BIN, ...args], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
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
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const code = await exitOf(child);
  clearTimeout(timer);
  if (child.signalCode === 'SIGKILL') throw new Error(`fos ${args.join(' ')} did not finish in time`);
  return { code, stdout, stderr };
}

/**
 * `fos user add NAME --data DIR --password-stdin`.
 * @throws Error with the output when it fails.
 */
export async function addUser(dataDir: string, name: string, password: string): Promise<void> {
  const result = await runFos(['user', 'add', name, '--data', dataDir, '--password-stdin', '--cost', String(TEST_BCRYPT_COST)], `${password}\n`);
  if (result.code !== 0) throw new Error(`fos user add ${name} failed (${String(result.code)}): ${result.stderr}${result.stdout}`);
}

/** Waits `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns something other than undefined.
 * @throws Error naming `what` (and the last error `check` threw) at the deadline.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === null ? '' : `: ${String(lastError)}`}`);
    await delay(stepMs);
  }
}
