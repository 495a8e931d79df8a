/**
 * A `fos server` child process for the long security runs (`npm run fuzz`, the login
 * timing figure): built binary, 127.0.0.1, an ephemeral port, a temporary data folder,
 * accounts made with `fos user add`. Everything it starts is stopped by `dispose`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built entry point, from `dist/test-support/` or from `test-support/` under vitest. */
const FOS_BIN = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../bin/fos.js' : '../bin/fos.js', import.meta.url));

const START_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 60_000;

/** A running server child. */
export interface FuzzServer {
  readonly host: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Parsed JSON log lines so far. */
  records(): Record<string, unknown>[];
  /** True while the process runs. */
  isRunning(): boolean;
  /** Kills the process and removes the data folder. */
  dispose(): Promise<void>;
}

/** Options of {@link startFuzzServer}. */
export interface FuzzServerOptions {
  /** `name → password`, created before the server starts. */
  readonly users: Readonly<Record<string, string>>;
  /** Extra `fos server` flags. */
  readonly args?: readonly string[];
  /** bcrypt cost of the accounts and of the server's dummy hash. */
  readonly bcryptCost: number;
}

/**
 * Creates the accounts, starts the server and resolves once it listens.
 * @throws Error with the server's output when it exits or stays silent.
 */
export async function startFuzzServer(options: FuzzServerOptions): Promise<FuzzServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fos-security-run-'));
  const env = { ...process.env, FOS_BCRYPT_COST: String(options.bcryptCost) };
  try {
    for (const [name, password] of Object.entries(options.users)) {
      await run(['user', 'add', name, '--data', dataDir, '--password-stdin', '--cost', String(options.bcryptCost)], `${password}\n`, env);
    }
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const child = spawn(process.execPath, [FOS_BIN, 'server', '--data', dataDir, '--host', '127.0.0.1', '--port', '0', ...(options.args ?? [])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    output += text;
  });
  const records: Record<string, unknown>[] = [];
  let pending = '';
  const listening = new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fos server did not listen in time:\n${output}`)), START_TIMEOUT_MS);
    child.stdout?.on('data', (text: string) => {
      output += text;
      pending += text;
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const record = parseRecord(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (record === null) continue;
        records.push(record);
        if (record['msg'] === 'listening' && typeof record['host'] === 'string' && typeof record['port'] === 'number') {
          clearTimeout(timer);
          resolve({ host: record['host'], port: record['port'] });
        }
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`fos server exited before listening:\n${output}`));
    });
  });
  const dispose = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const { host, port } = await listening;
    return {
      host,
      port,
      child,
      dataDir,
      records: () => records,
      isRunning: () => child.exitCode === null && child.signalCode === null,
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function run(args: readonly string[], input: string, env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, [FOS_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (code !== 0) throw new Error(`fos ${args.slice(0, 3).join(' ')} failed (${String(code)}): ${output}`);
}

function parseRecord(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    // A line that is not JSON is not a log record.
    return null;
  }
}
