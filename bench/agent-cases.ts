/**
 * L1: the delay from a file saved on agent A to its arrival on agent B, over a run of
 * changes (with a 10 s watcher delay printed as the reference line); M1: an agent's
 * resident memory with the large tree watched and idle.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from './context.js';
import { lastLines, startAgent, waitForIdle, type FosAgent } from './fos-agent.js';
import { initSyncPair } from './fos-sync.js';
import { readPeakRss, readRss, resetPeakRss } from './measure.js';
import { median } from './stats.js';
import { syncedTree } from './sync-cases.js';
import type { BenchResult } from './types.js';

/** The fos commands L1 and M1 need. */
export const AGENT_COMMANDS: readonly string[] = ['server', 'user add', 'init', 'sync', 'agent'];

/** The watcher delay of a popular peer's default configuration: L1's reference line. */
export const REFERENCE_WATCH_DELAY_MS = 10_000;

const ARRIVAL_POLL_MS = 5;
const ARRIVAL_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;
/** L1 cycles through this many files: the first changes create them, later ones edit them. */
const L1_FILES = 10;
const M1_RSS_SAMPLES = 5;

/**
 * Runs L1 with two agents on one remote folder.
 * @throws Error when an agent dies or never gets ready.
 */
export async function runL1(ctx: BenchContext): Promise<BenchResult[]> {
  const label = `L1 ${ctx.sizes.latencyChanges} changes A → B`;
  const reference: BenchResult = {
    kind: 'reference',
    workload: 'L1',
    label,
    tool: 'reference',
    ms: REFERENCE_WATCH_DELAY_MS,
    note: '10 s watcher delay',
  };
  const missing = await ctx.commands.missing(AGENT_COMMANDS);
  if (missing !== undefined) return [{ kind: 'unavailable', workload: 'L1', label, reason: `not available yet: ${missing}` }, reference];
  const fos = await ctx.fos();
  const pairs = await Promise.all(
    (['a', 'b'] as const).map(async (side) =>
      initSyncPair(ctx, {
        folder: await ctx.folder('l1', side, 'folder'),
        remote: 'l1',
        home: await ctx.folder('l1', side, 'fos'),
        device: `bench-l1-${side}`,
        account: fos.direct,
      }),
    ),
  );
  const [pairA, pairB] = pairs;
  if (pairA === undefined || pairB === undefined) throw new Error('L1 needs two folder pairs');
  const agents = [startAgent(ctx, pairA), startAgent(ctx, pairB)];
  try {
    const [agentA, agentB] = agents as [FosAgent, FosAgent];
    ctx.log('L1: waiting for both agents');
    const readyMs = await timeArrival(pairA.folder, pairB.folder, 'ready.txt', `ready ${randomBytes(8).toString('hex')}\n`, READY_TIMEOUT_MS, agents);
    if (readyMs === undefined) throw new Error(`the first change never reached B:\nA: ${lastLines(agentA.logTail())}\nB: ${lastLines(agentB.logTail())}`);
    await Promise.all([resetPeakRss(agentA.pid), resetPeakRss(agentB.pid), resetPeakRss(fos.server.pid)]);
    ctx.log(`L1: timing ${ctx.sizes.latencyChanges} changes`);
    const samplesMs: number[] = [];
    let lost = 0;
    for (let index = 0; index < ctx.sizes.latencyChanges; index += 1) {
      const name = `change-${index % L1_FILES}.txt`;
      const content = `change ${index} ${randomBytes(16).toString('hex')}\n`;
      const ms = await timeArrival(pairA.folder, pairB.folder, name, content, ARRIVAL_TIMEOUT_MS, agents);
      if (ms === undefined) lost += 1;
      else samplesMs.push(ms);
    }
    const [peakA, peakB, serverBytes] = await Promise.all([readPeakRss(agentA.pid), readPeakRss(agentB.pid), readPeakRss(fos.server.pid)]);
    return [
      { kind: 'latency', workload: 'L1', label, tool: 'fos', samplesMs, lost, rss: { clientBytes: Math.max(peakA, peakB), serverBytes } },
      reference,
    ];
  } finally {
    await Promise.all(agents.map((agent) => agent.stop()));
  }
}

/**
 * Runs M1: an agent over the large tree (already in sync), measured once idle.
 * @throws Error when the agent dies or never falls idle.
 */
export async function runM1(ctx: BenchContext): Promise<BenchResult[]> {
  const label = `M1 agent idle, ${ctx.sizes.treeFiles} files`;
  const missing = await ctx.commands.missing(AGENT_COMMANDS);
  if (missing !== undefined) return [{ kind: 'unavailable', workload: 'M1', label, reason: `not available yet: ${missing}` }];
  const tree = await syncedTree(ctx, true);
  if (tree.fos === undefined) throw new Error('M1 needs the tree synced by fos');
  const agent = startAgent(ctx, tree.fos.pair);
  try {
    ctx.log('M1: waiting for the agent to fall idle');
    const settleMs = ctx.options.isQuick ? 3_000 : 10_000;
    await waitForIdle(agent, settleMs, ctx.deadlines.setupMs);
    const samples: number[] = [];
    for (let i = 0; i < M1_RSS_SAMPLES; i += 1) {
      samples.push(await readRss(agent.pid));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    return [
      {
        kind: 'memory',
        workload: 'M1',
        label,
        tool: 'fos',
        idleRssBytes: median(samples),
        peakRssBytes: await readPeakRss(agent.pid),
        files: ctx.sizes.treeFiles,
      },
    ];
  } finally {
    await agent.stop();
  }
}

/**
 * Writes `content` to `name` in `from` and waits until `to` holds the same bytes.
 * Resolves to the delay in ms, or undefined when it did not arrive within `timeoutMs`.
 * @throws Error when an agent exits meanwhile.
 */
async function timeArrival(
  from: string,
  to: string,
  name: string,
  content: string,
  timeoutMs: number,
  agents: readonly FosAgent[],
): Promise<number | undefined> {
  const target = join(to, name);
  const started = performance.now();
  await writeFile(join(from, name), content);
  while (performance.now() - started < timeoutMs) {
    try {
      if ((await readFile(target, 'utf8')) === content) return performance.now() - started;
    } catch {
      // Not there yet (or being renamed into place): look again.
    }
    const dead = agents.find((agent) => !agent.isRunning());
    if (dead !== undefined) throw new Error(`fos agent exited:\n${lastLines(dead.logTail())}`);
    await new Promise((resolve) => setTimeout(resolve, ARRIVAL_POLL_MS));
  }
  return undefined;
}
