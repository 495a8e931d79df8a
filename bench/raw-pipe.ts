/**
 * The ceilings for W1: a minimal Node TCP pipe that streams a file over loopback to a
 * child process writing it to disk, and `sha256sum` of the same file.
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { readPeakRss, runChecked, spawnTracked } from './measure.js';
import { stopChild, type Teardown } from './teardown.js';

const SINK_SCRIPT = fileURLToPath(new URL('./raw-pipe-sink.js', import.meta.url));
const SINK_START_TIMEOUT_MS = 10_000;

/** One raw pipe run: the time from connect to the bytes being written out by the sink. */
export interface RawPipeRun {
  readonly ms: number;
  /** The sink process's peak resident set, in bytes. */
  readonly sinkPeakRssBytes: number;
}

/**
 * Streams `file` to a fresh sink process that writes it to `destination`, then removes it.
 * @throws Error when the sink fails or the transfer breaks.
 */
export async function runRawPipe(file: string, destination: string, teardown: Teardown, timeoutMs: number): Promise<RawPipeRun> {
  const sink = spawnTracked({ command: process.execPath, args: [SINK_SCRIPT, destination] }, teardown, 'pipe');
  try {
    const exited = new Promise<number | null>((resolve) => sink.once('exit', (code) => resolve(code)));
    const port = await readPort(sink.stdout, exited);
    const started = performance.now();
    let peak = 0;
    const poll = setInterval(() => {
      void readPeakRss(sink.pid).then((bytes) => {
        peak = Math.max(peak, bytes);
      });
    }, 25);
    const timer = setTimeout(() => sink.kill('SIGKILL'), timeoutMs);
    try {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), socket);
      const code = await exited;
      if (code !== 0) throw new Error(`raw pipe sink exited with ${String(code)}`);
      return { ms: performance.now() - started, sinkPeakRssBytes: peak };
    } finally {
      clearInterval(poll);
      clearTimeout(timer);
    }
  } finally {
    await stopChild(sink);
    await rm(destination, { force: true });
  }
}

/**
 * Times `sha256sum FILE`.
 * @throws CommandError when sha256sum fails.
 */
export async function runSha256sum(file: string, teardown: Teardown, timeoutMs: number): Promise<number> {
  const result = await runChecked({ command: 'sha256sum', args: [file], timeoutMs }, teardown);
  return result.ms;
}

function readPort(stdout: NodeJS.ReadableStream | null, exited: Promise<number | null>): Promise<number> {
  return new Promise((resolve, reject) => {
    if (stdout === null) {
      reject(new Error('raw pipe sink has no stdout'));
      return;
    }
    const timer = setTimeout(() => reject(new Error('raw pipe sink printed no port')), SINK_START_TIMEOUT_MS);
    let text = '';
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      const line = text.slice(0, newline);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = null;
      }
      if (typeof value === 'object' && value !== null && 'port' in value && typeof value.port === 'number') {
        resolve(value.port);
      } else {
        reject(new Error(`raw pipe sink printed ${line}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`raw pipe sink exited with ${String(code)} before listening`));
    });
  });
}
