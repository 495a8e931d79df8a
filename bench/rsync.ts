/**
 * The peer: an rsync daemon of our own (own config, free loopback port, run as the
 * current user, no chroot) and the rsync client talking to it, with bytes on the wire
 * read from `--stats`.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runChecked, spawnTracked } from './measure.js';
import { stopChild, type Teardown } from './teardown.js';
import type { WireBytes } from './types.js';

const execFileAsync = promisify(execFile);

/** The rsync module every run writes to and reads from. */
export const RSYNC_MODULE = 'bench';

const START_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

/** A running rsync daemon. */
export interface RsyncDaemon {
  readonly port: number;
  /** The folder behind the module. */
  readonly root: string;
  /** `rsync://127.0.0.1:PORT/bench/PATH`, through `port` when given (a wire counter). */
  url(path: string, port?: number): string;
  close(): Promise<void>;
}

/** One timed rsync run. */
export interface RsyncRun {
  readonly ms: number;
  /** From `--stats`: Total bytes sent and received, client side. */
  readonly wire: WireBytes;
}

/** `rsync --version`'s first line and its compression list, for the report's header. */
export interface RsyncInfo {
  readonly version: string;
  readonly compressList: string;
}

/**
 * Reads the installed rsync's version.
 * @throws Error when rsync is not installed.
 */
export async function rsyncInfo(): Promise<RsyncInfo> {
  const { stdout } = await execFileAsync('rsync', ['--version']);
  const version = stdout.split('\n')[0]?.trim() ?? 'rsync';
  const compress = /Compress list:\s*\n?\s*(.+)/.exec(stdout);
  return { version, compressList: compress?.[1]?.trim() ?? 'zlib' };
}

/**
 * Starts `rsync --daemon --no-detach` on a free 127.0.0.1 port with a module over
 * `<dir>/root`; the config, log and pid file live in `dir`.
 * @throws Error when the daemon does not accept connections in time.
 */
export async function startRsyncDaemon(dir: string, teardown: Teardown): Promise<RsyncDaemon> {
  const root = join(dir, 'root');
  await mkdir(root, { recursive: true });
  const config = join(dir, 'rsyncd.conf');
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await writeFile(
    config,
    [
      `pid file = ${join(dir, 'rsyncd.pid')}`,
      `log file = ${join(dir, 'rsyncd.log')}`,
      'use chroot = no',
      // As root the daemon would switch to nobody; the bench runs it as the current user.
      `uid = ${uid}`,
      `gid = ${gid}`,
      'max connections = 0',
      'transfer logging = no',
      '',
      `[${RSYNC_MODULE}]`,
      `  path = ${root}`,
      '  read only = no',
      '  list = yes',
      '',
    ].join('\n'),
  );
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt += 1) {
    const port = await freePort();
    const child = spawnTracked(
      { command: 'rsync', args: ['--daemon', '--no-detach', `--config=${config}`, `--port=${port}`, '--address=127.0.0.1'] },
      teardown,
      'ignore',
    );
    try {
      await waitForListener(port, child.pid, START_TIMEOUT_MS, () => child.exitCode !== null);
      let closing: Promise<void> | undefined;
      return {
        port,
        root,
        url: (path, via) => `rsync://127.0.0.1:${via ?? port}/${RSYNC_MODULE}/${path}`,
        close() {
          closing ??= stopChild(child);
          return closing;
        },
      };
    } catch (err) {
      // Most likely the port was taken between probing and binding: try another.
      lastError = err;
      await stopChild(child);
    }
  }
  throw new Error(`rsync daemon did not start: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

/**
 * Runs `rsync -a --stats [extra] SOURCE DEST` and reads the bytes on the wire.
 * @throws CommandError when rsync fails.
 */
export async function runRsync(
  source: string,
  destination: string,
  extraArgs: readonly string[],
  teardown: Teardown,
  timeoutMs: number,
): Promise<RsyncRun> {
  const result = await runChecked(
    { command: 'rsync', args: ['-a', '--stats', ...extraArgs, source, destination], timeoutMs },
    teardown,
  );
  return { ms: result.ms, wire: parseStats(result.stdout) };
}

/**
 * `Total bytes sent: 1,234` and `Total bytes received: 56` from rsync's `--stats`.
 * @throws Error when the lines are missing.
 */
export function parseStats(stdout: string): WireBytes {
  const read = (name: string): number => {
    const match = new RegExp(`^Total bytes ${name}:\\s+([\\d,.]+)`, 'm').exec(stdout);
    if (match?.[1] === undefined) throw new Error(`rsync --stats printed no "Total bytes ${name}"`);
    return Number(match[1].replace(/[,.]/g, ''));
  };
  return { sentBytes: read('sent'), receivedBytes: read('received') };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free TCP port');
  return address.port;
}

async function waitForListener(port: number, pid: number | undefined, timeoutMs: number, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`rsync daemon (pid ${String(pid)}) exited on port ${port}`);
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`rsync daemon did not listen on port ${port} within ${timeoutMs} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
