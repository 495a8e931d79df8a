/**
 * A `fos server` child process for the bench: `node bin/fos.js server --data DIR
 * --host 127.0.0.1 --port 0`, ready once it logs its `listening` line, and accounts made
 * with `fos user add NAME --data DIR --password-stdin --cost 4`.
 */
import type { ChildProcess } from 'node:child_process';
import { BENCH_BCRYPT_COST, fosArgs, runFos, type FosLauncher } from './fos-cli.js';
import { spawnTracked } from './measure.js';
import { stopChild } from './teardown.js';

const START_TIMEOUT_MS = 30_000;
const USER_ADD_TIMEOUT_MS = 30_000;
const LOG_KEEP_CHARS = 64 * 1024;

/** A running fos server. */
export interface FosServer {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number | undefined;
  /** The last lines it wrote, for error messages. */
  logTail(): string;
  /** SIGTERM (SIGKILL after a grace period) and wait for the exit. */
  close(): Promise<void>;
}

/**
 * Starts a server on a free loopback port over `dataDir`.
 * @throws Error with the server's output when it exits or stays silent.
 */
export async function startFosServer(launcher: FosLauncher, dataDir: string): Promise<FosServer> {
  const child = spawnTracked(
    {
      command: process.execPath,
      args: fosArgs(['server', '--data', dataDir, '--host', '127.0.0.1', '--port', '0'], launcher.nodeFlags),
      env: launcher.env,
    },
    launcher.teardown,
    'pipe',
  );
  let tail = '';
  const keep = (text: string): void => {
    tail = (tail + text).slice(-LOG_KEEP_CHARS);
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', keep);
  try {
    const { host, port } = await waitForListening(child, keep);
    let closing: Promise<void> | undefined;
    return {
      host,
      port,
      dataDir,
      pid: child.pid,
      logTail: () => tail,
      close() {
        closing ??= stopChild(child, 15_000);
        return closing;
      },
    };
  } catch (err) {
    await stopChild(child);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${tail.split('\n').slice(-10).join('\n')}`);
  }
}

/**
 * Creates an account on the server's data folder.
 * @throws CommandError when `fos user add` fails.
 */
export async function addFosUser(launcher: FosLauncher, dataDir: string, name: string, password: string): Promise<void> {
  await runFos(
    launcher,
    ['user', 'add', name, '--data', dataDir, '--password-stdin', '--cost', String(BENCH_BCRYPT_COST)],
    USER_ADD_TIMEOUT_MS,
    `${password}\n`,
  );
}

function waitForListening(child: ChildProcess, keep: (text: string) => void): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fos server did not log "listening" within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    let pending = '';
    let isListening = false;
    child.stdout?.setEncoding('utf8');
    // The server logs a line per operation: keep reading to the end so its pipe never fills.
    child.stdout?.on('data', (text: string) => {
      keep(text);
      if (isListening) return;
      pending += text;
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const address = listeningAddress(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (address !== undefined) {
          isListening = true;
          pending = '';
          clearTimeout(timer);
          resolve(address);
          return;
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fos server exited (${String(code ?? signal)}) before listening`));
    });
  });
}

function listeningAddress(line: string): { host: string; port: number } | undefined {
  if (!line.startsWith('{')) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    // A line that is not JSON is not the listening line.
    return undefined;
  }
  if (typeof record !== 'object' || record === null) return undefined;
  const { msg, host, port } = record as Record<string, unknown>;
  if (msg !== 'listening' || typeof host !== 'string' || typeof port !== 'number') return undefined;
  return { host, port };
}
