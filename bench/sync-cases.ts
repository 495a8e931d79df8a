/**
 * W2–W5, each a `fos sync` pass against an rsync run of the same folder, both through a
 * wire counter: W2 a fresh tree of small files, W3 1 MiB changed in the middle of the big
 * file, W4 a no-op pass over a large tree already in sync, W5 compressible logs.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { alternate, peakRss, typicalWire, type Contender, type Sample, type SampleTable } from './alternate.js';
import type { BenchContext, FosEndpoint, RsyncEndpoint } from './context.js';
import { initSyncPair, syncArgs, SYNC_COMMANDS, type SyncPair } from './fos-sync.js';
import { timeFos } from './fos-timing.js';
import { runSha256sum } from './raw-pipe.js';
import { runRsync } from './rsync.js';
import { KiB } from './stats.js';
import type { BenchResult, TimedResult, Tool, WorkloadId } from './types.js';
import { overwriteMiddle, writeFileTree, writeLogFile } from './workloads.js';

/** Bytes per file of the W4 and M1 tree. */
const TREE_FILE_BYTES = 1 * KiB;

/**
 * W2: a fresh sync of many 4 KiB files to an empty server. rsync with `--fsync` runs too,
 * as a reference: fos makes every file durable before it names it, plain rsync does not.
 */
export async function runW2(ctx: BenchContext): Promise<BenchResult[]> {
  const { smallFiles, smallFolders, smallFileBytes } = ctx.sizes;
  const label = `W2 ${smallFiles} × 4 KiB, fresh`;
  const source = await ctx.folder('w2', 'src');
  ctx.log(`W2: generating ${smallFiles} files`);
  await writeFileTree(source, smallFiles, smallFolders, smallFileBytes);
  const rsync = await rsyncIn(ctx, 'w2');
  const rsyncRun = (index: number): Promise<Sample> => rsyncSample(ctx, rsync, `${source}/`, `w2/run-${index}/`, []);
  const rsyncFsync: Contender = { name: 'rsync --fsync', run: (index) => rsyncSample(ctx, rsync, `${source}/`, `w2/fsync-run-${index}/`, ['--fsync']) };
  const missing = await ctx.commands.missing(SYNC_COMMANDS);
  if (missing !== undefined) return rsyncOnly(ctx, 'W2', label, missing, rsyncRun, smallFiles * smallFileBytes);
  const fos = await ctx.fos();
  const pairs: SyncPair[] = [];
  ctx.log('W2: timing');
  const table = await alternate(
    ctx.options.runs,
    [
      { name: 'fos', run: (index) => timeFos(ctx, fos, fos.counted, syncArgs(pairs[index] ?? missingPair(index))) },
      { name: 'rsync', run: rsyncRun },
      rsyncFsync,
    ],
    async (index) => {
      pairs[index] = await freshPair(ctx, fos, source, 'w2', index);
    },
  );
  return [...compared('W2', label, table, smallFiles * smallFileBytes), row('W2', label, 'rsync --fsync', table, smallFiles * smallFileBytes)];
}

/** W3: 1 MiB overwritten in the middle of the big file, then a sync of the change. */
export async function runW3(ctx: BenchContext): Promise<BenchResult[]> {
  const label = `W3 1 MiB changed in ${describeBytes(ctx.sizes.bigFileBytes)}`;
  const source = await ctx.folder('w3', 'src');
  const file = join(source, 'big.bin');
  await copyFile(await ctx.bigFile(), file);
  const rsync = await rsyncIn(ctx, 'w3');
  const missing = await ctx.commands.missing(SYNC_COMMANDS);
  const rsyncRun = (): Promise<Sample> => rsyncSample(ctx, rsync, `${source}/`, 'w3/', []);
  const sha256sum: Contender = { name: 'sha256sum', run: async () => ({ ms: await runSha256sum(file, ctx.teardown, ctx.deadlines.commandMs) }) };
  const change = (): Promise<void> => overwriteMiddle(file, ctx.sizes.overwriteBytes);
  ctx.log('W3: first copy (not timed)');
  await runRsync(`${source}/`, rsync.daemon.url('w3/'), [], ctx.teardown, ctx.deadlines.setupMs);
  if (missing !== undefined) {
    const table = await alternate(ctx.options.runs, [{ name: 'rsync', run: rsyncRun }, sha256sum], change);
    return [
      { kind: 'unavailable', workload: 'W3', label, reason: `not available yet: ${missing}` },
      row('W3', label, 'rsync', table, 0),
      row('W3', label, 'sha256sum', table, ctx.sizes.bigFileBytes),
    ];
  }
  const fos = await ctx.fos();
  const pair = await initSyncPair(ctx, {
    folder: source,
    remote: 'w3',
    home: await ctx.folder('w3', 'fos'),
    device: 'bench-w3',
    account: fos.counted,
  });
  ctx.log('W3: first fos sync (not timed)');
  await timeFos(ctx, fos, fos.counted, syncArgs(pair), ctx.deadlines.setupMs);
  ctx.log('W3: timing');
  const table = await alternate(
    ctx.options.runs,
    [{ name: 'fos', run: () => timeFos(ctx, fos, fos.counted, syncArgs(pair)) }, { name: 'rsync', run: rsyncRun }, sha256sum],
    change,
  );
  return [...compared('W3', label, table, 0), row('W3', label, 'sha256sum', table, ctx.sizes.bigFileBytes)];
}

/** W4: a no-op pass over a large tree that both tools already hold in sync. */
export async function runW4(ctx: BenchContext): Promise<BenchResult[]> {
  const label = `W4 no-op, ${ctx.sizes.treeFiles} files`;
  const missing = await ctx.commands.missing(SYNC_COMMANDS);
  const tree = await syncedTree(ctx, missing === undefined);
  const rsyncRun = (): Promise<Sample> => rsyncSample(ctx, tree.rsync, `${tree.folder}/`, 'tree/', []);
  if (tree.fos === undefined || missing !== undefined) return rsyncOnly(ctx, 'W4', label, missing ?? 'fos sync', rsyncRun, 0);
  const { pair, endpoint: fos } = tree.fos;
  ctx.log('W4: timing');
  const table = await alternate(ctx.options.runs, [
    { name: 'fos', run: () => timeFos(ctx, fos, fos.counted, syncArgs(pair)) },
    { name: 'rsync', run: rsyncRun },
  ]);
  return compared('W4', label, table, 0);
}

/** W5: compressible log text, fresh, with compression on (rsync -z). */
export async function runW5(ctx: BenchContext): Promise<BenchResult[]> {
  const label = `W5 ${describeBytes(ctx.sizes.logBytes)} logs, compressed`;
  const source = await ctx.folder('w5', 'src');
  ctx.log(`W5: generating ${ctx.sizes.logBytes} bytes of log lines`);
  await writeLogFile(join(source, 'app.log'), ctx.sizes.logBytes);
  const rsync = await rsyncIn(ctx, 'w5');
  const rsyncRun = (index: number): Promise<Sample> => rsyncSample(ctx, rsync, `${source}/`, `w5/run-${index}/`, ['-z']);
  const missing = await ctx.commands.missing(SYNC_COMMANDS);
  if (missing !== undefined) return rsyncOnly(ctx, 'W5', label, missing, rsyncRun, ctx.sizes.logBytes);
  const fos = await ctx.fos();
  const pairs: SyncPair[] = [];
  ctx.log('W5: timing');
  const table = await alternate(
    ctx.options.runs,
    [
      { name: 'fos', run: (index) => timeFos(ctx, fos, fos.counted, syncArgs(pairs[index] ?? missingPair(index))) },
      { name: 'rsync', run: rsyncRun },
    ],
    async (index) => {
      pairs[index] = await freshPair(ctx, fos, source, 'w5', index, true);
    },
  );
  return compared('W5', label, table, ctx.sizes.logBytes);
}

/** The W4 tree, synced once by both tools (M1 watches the same tree). */
export interface SyncedTree {
  readonly folder: string;
  readonly rsync: RsyncEndpoint;
  /** fos's folder pair over the tree; absent when fos cannot sync yet. */
  readonly fos?: { readonly pair: SyncPair; readonly endpoint: FosEndpoint };
}

/**
 * Generates the large tree and brings rsync's copy, and fos's when `withFos`, in sync.
 * @throws Error when a first sync fails.
 */
export function syncedTree(ctx: BenchContext, withFos: boolean): Promise<SyncedTree> {
  const base = ctx.shared('tree', async () => {
    const folder = await ctx.folder('tree', 'src');
    const { treeFiles, treeFolders } = ctx.sizes;
    ctx.log(`tree: generating ${treeFiles} files`);
    await writeFileTree(folder, treeFiles, treeFolders, TREE_FILE_BYTES);
    const rsync = await ctx.rsync();
    ctx.log('tree: first rsync (not timed)');
    await runRsync(`${folder}/`, rsync.daemon.url('tree/'), [], ctx.teardown, ctx.deadlines.setupMs);
    return { folder, rsync };
  });
  if (!withFos) return base;
  return ctx.shared('tree-fos', async () => {
    const { folder, rsync } = await base;
    const fos = await ctx.fos();
    const pair = await initSyncPair(ctx, {
      folder,
      remote: 'tree',
      home: await ctx.folder('tree', 'fos'),
      device: 'bench-tree',
      account: fos.counted,
    });
    ctx.log('tree: first fos sync (not timed)');
    const first = await timeFos(ctx, fos, fos.counted, syncArgs(pair), ctx.deadlines.setupMs);
    ctx.log(`tree: first fos sync took ${(first.ms / 1000).toFixed(1)} s`);
    return { folder, rsync, fos: { pair, endpoint: fos } };
  });
}

async function rsyncIn(ctx: BenchContext, folder: string): Promise<RsyncEndpoint> {
  const rsync = await ctx.rsync();
  await mkdir(join(rsync.daemon.root, folder), { recursive: true });
  return rsync;
}

async function rsyncSample(ctx: BenchContext, rsync: RsyncEndpoint, source: string, path: string, extra: readonly string[]): Promise<Sample> {
  rsync.counter.reset();
  const run = await runRsync(source, rsync.daemon.url(path, rsync.counter.port), extra, ctx.teardown, ctx.deadlines.commandMs);
  return { ms: run.ms, wire: rsync.counter.read() };
}

async function freshPair(ctx: BenchContext, fos: FosEndpoint, folder: string, name: string, index: number, compress = false): Promise<SyncPair> {
  return initSyncPair(ctx, {
    compress,
    folder,
    remote: `${name}/run-${index}`,
    home: await ctx.folder(name, `fos-${index}`),
    device: `bench-${name}-${index}`,
    account: fos.counted,
  });
}

function missingPair(index: number): never {
  throw new Error(`no sync pair was set up for run ${index}`);
}

async function rsyncOnly(
  ctx: BenchContext,
  workload: WorkloadId,
  label: string,
  missing: string,
  rsyncRun: (index: number) => Promise<Sample>,
  payloadBytes: number,
): Promise<BenchResult[]> {
  ctx.log(`${workload}: rsync only`);
  const table = await alternate(ctx.options.runs, [{ name: 'rsync', run: rsyncRun }]);
  return [
    { kind: 'unavailable', workload, label, reason: `not available yet: ${missing}` },
    row(workload, label, 'rsync', table, payloadBytes),
  ];
}

function compared(workload: WorkloadId, label: string, table: SampleTable, payloadBytes: number): TimedResult[] {
  return [row(workload, label, 'fos', table, payloadBytes), row(workload, label, 'rsync', table, payloadBytes)];
}

function row(workload: WorkloadId, label: string, tool: Tool, table: SampleTable, payloadBytes: number): TimedResult {
  const samples = table.get(tool) ?? [];
  const wire = typicalWire(samples);
  const rss = peakRss(samples);
  return {
    kind: 'timed',
    workload,
    label,
    tool,
    samplesMs: samples.map((sample) => sample.ms),
    payloadBytes,
    ...(wire === undefined ? {} : { wire }),
    ...(rss === undefined ? {} : { rss }),
  };
}

function describeBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${bytes / 1024 ** 3} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}
