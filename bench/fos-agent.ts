/** A `fos agent --config FILE` child process, and a wait for it to fall idle. */
import type { ChildProcess } from 'node:child_process';
import type { BenchContext } from './context.js';
import { fosArgs } from './fos-cli.js';
import type { SyncPair } from './fos-sync.js';
import { readCpuTicks, spawnTracked } from './measure.js';
import { stopChild } from './teardown.js';

const LOG_KEEP_CHARS = 64 * 1024;
/** Linux reports CPU time in 1/100 s ticks (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** A running agent. */
export interface FosAgent {
  readonly pid: number | undefined;
  /** True while the process runs. */
  isRunning(): boolean;
  /** Its last lines of output, for error messages. */
  logTail(): string;
  /** SIGTERM (SIGKILL after a grace period) and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `fos agent --config` for `pair`; its output is drained and its tail kept. */
export function startAgent(ctx: BenchContext, pair: SyncPair): FosAgent {
  const launcher = ctx.launcher(pair.account);
  const child: ChildProcess = spawnTracked(
    { command: process.execPath, args: fosArgs(['agent', '--config', pair.config], launcher.nodeFlags), env: launcher.env },
    ctx.teardown,
    'pipe',
  );
  let tail = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (text: string) => {
      tail = (tail + text).slice(-LOG_KEEP_CHARS);
    });
  }
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    logTail: () => tail,
    stop() {
      stopping ??= stopChild(child, 15_000);
      return stopping;
    },
  };
}

/**
 * Waits until the agent has used under `busyShare` of one core for `quietMs` in a row.
 * @throws Error when the agent exits or is still busy at `timeoutMs`.
 */
export async function waitForIdle(agent: FosAgent, quietMs: number, timeoutMs: number, busyShare = 0.02): Promise<void> {
  const stepMs = 500;
  const deadline = Date.now() + timeoutMs;
  let quietSince = Date.now();
  let ticks = await readCpuTicks(agent.pid);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, stepMs));
    if (!agent.isRunning()) throw new Error(`fos agent exited:\n${lastLines(agent.logTail())}`);
    const now = await readCpuTicks(agent.pid);
    const share = (now - ticks) / TICKS_PER_SECOND / (stepMs / 1000);
    ticks = now;
    if (share > busyShare) quietSince = Date.now();
    if (Date.now() - quietSince >= quietMs) return;
  }
  throw new Error(`fos agent still busy after ${timeoutMs} ms`);
}

/** The last lines of a log tail, for an error message. */
export function lastLines(text: string, count = 10): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
