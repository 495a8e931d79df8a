/**
 * Spawns and times commands, and reads memory figures from /proc: VmHWM (peak resident
 * set) and VmRSS (resident set now). Linux only, like the rest of the bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { signalGroup, type Teardown } from './teardown.js';

const OUTPUT_KEEP_CHARS = 256 * 1024;
const RSS_POLL_MS = 25;

/** What to run. */
export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** SIGKILL after this long and reject. */
  readonly timeoutMs: number;
}

/** How a command ended and what it took. */
export interface CommandResult {
  readonly ms: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last 256 KiB of stdout and of stderr. */
  readonly stdout: string;
  readonly stderr: string;
  /** The child's own peak resident set (VmHWM polled while it ran), in bytes; 0 if unseen. */
  readonly peakRssBytes: number;
}

/** A command that exited non-zero, was killed, or overran its deadline. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly result: CommandResult | undefined;
  /** True when the command was killed for overrunning its deadline. */
  readonly isTimeout: boolean;
  constructor(message: string, result?: CommandResult, isTimeout = false) {
    super(message);
    this.result = result;
    this.isTimeout = isTimeout;
  }
}

/**
 * Runs a command to completion, timing it from spawn to exit.
 * @throws CommandError when it cannot start or overruns `timeoutMs`.
 */
export async function runCommand(spec: CommandSpec, teardown: Teardown): Promise<CommandResult> {
  const child = spawnTracked(spec, teardown, 'pipe');
  const started = performance.now();
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  let peakRssBytes = 0;
  const poll = setInterval(() => {
    void readPeakRss(child.pid).then((bytes) => {
      peakRssBytes = Math.max(peakRssBytes, bytes);
    });
  }, RSS_POLL_MS);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(child, 'SIGKILL');
  }, spec.timeoutMs);
  try {
    const { code, signal, ms } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal, ms: performance.now() - started }));
      },
    );
    // Helpers the command forked may still hold the pipes open: end them before reading.
    signalGroup(child, 'SIGKILL');
    const result: CommandResult = { ms, code, signal, stdout: await stdout, stderr: await stderr, peakRssBytes };
    if (timedOut) throw new CommandError(`${describe(spec)} did not finish within ${spec.timeoutMs} ms`, result, true);
    return result;
  } catch (err) {
    if (err instanceof CommandError) throw err;
    throw new CommandError(`${describe(spec)} could not run: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearInterval(poll);
    clearTimeout(timer);
  }
}

/**
 * Runs a command and insists on exit code 0.
 * @throws CommandError with the command's output when it fails.
 */
export async function runChecked(spec: CommandSpec, teardown: Teardown): Promise<CommandResult> {
  const result = await runCommand(spec, teardown);
  if (result.code !== 0) {
    const output = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-12).join('\n');
    throw new CommandError(`${describe(spec)} exited with ${String(result.code ?? result.signal)}:\n${output}`, result);
  }
  return result;
}

/** Spawns a long-running child in its own process group and hands it to `teardown`. */
export function spawnTracked(spec: Omit<CommandSpec, 'timeoutMs'>, teardown: Teardown, stdio: 'pipe' | 'ignore'): ChildProcess {
  const child = spawn(spec.command, [...spec.args], {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    detached: true,
    stdio: [spec.input === undefined ? 'ignore' : 'pipe', stdio, stdio],
  });
  teardown.adopt(child);
  if (spec.input !== undefined) child.stdin?.end(spec.input);
  return child;
}

/** Keeps the tail of a stream as text; resolves when the stream closes. */
export function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  if (stream === null) return Promise.resolve('');
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > OUTPUT_KEEP_CHARS * 2) text = text.slice(-OUTPUT_KEEP_CHARS);
    });
    stream.on('error', () => resolve(text));
    stream.on('close', () => resolve(text.slice(-OUTPUT_KEEP_CHARS)));
  });
}

/** VmHWM of `pid` in bytes: the peak resident set since start or the last reset; 0 if gone. */
export function readPeakRss(pid: number | undefined): Promise<number> {
  return readStatusKb(pid, 'VmHWM');
}

/** VmRSS of `pid` in bytes: the resident set now; 0 if gone. */
export function readRss(pid: number | undefined): Promise<number> {
  return readStatusKb(pid, 'VmRSS');
}

/** Resets the peak resident set of `pid` (Linux `clear_refs` 5), so VmHWM covers one case. */
export async function resetPeakRss(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Older kernels or foreign processes: VmHWM then covers the process's whole life,
    // which still bounds the peak of the case from above.
  }
}

/** User plus system CPU time of `pid` in clock ticks, from /proc/PID/stat; 0 if gone. */
export async function readCpuTicks(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  } catch {
    return 0;
  }
}

async function readStatusKb(pid: number | undefined, field: string): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    // The process has exited: the last reading stands.
    return 0;
  }
}

function describe(spec: Pick<CommandSpec, 'command' | 'args'>): string {
  const words = [spec.command, ...spec.args].map((word) => (/\s/.test(word) ? JSON.stringify(word) : word));
  const text = words.join(' ');
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
