/**
 * W1: one large random file, uploaded fresh with `fos upload` and rsync, then downloaded
 * back with `fos download` and rsync, beside the ceilings (raw Node pipe, sha256sum).
 * Timed runs connect directly; fos's bytes on the wire come from one extra counted run
 * of each direction, so the counting proxy never slows the timed ones.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { alternate, peakRss, typicalWire, type Sample, type SampleTable } from './alternate.js';
import type { BenchContext } from './context.js';
import { timeFos } from './fos-timing.js';
import { runRawPipe, runSha256sum } from './raw-pipe.js';
import { runRsync } from './rsync.js';
import type { BenchResult, TimedResult, Tool } from './types.js';

/** The fos commands W1 needs. */
export const W1_COMMANDS: readonly string[] = ['server', 'user add', 'upload', 'download'];

/**
 * Runs W1 and returns its rows: upload, download and the ceilings.
 * @throws Error when a tool fails.
 */
export async function runW1(ctx: BenchContext): Promise<BenchResult[]> {
  const missing = await ctx.commands.missing(W1_COMMANDS);
  const file = await ctx.bigFile();
  const bytes = ctx.sizes.bigFileBytes;
  const { daemon } = await ctx.rsync();
  const scratch = await ctx.folder('w1');
  await mkdir(join(daemon.root, 'w1'), { recursive: true });
  const deadline = ctx.deadlines.commandMs;
  const rsyncUpload = async (index: number): Promise<Sample> => {
    const run = await runRsync(file, daemon.url(`w1/up-${index}/`), [], ctx.teardown, deadline);
    return { ms: run.ms, wire: run.wire };
  };
  const ceilings = [
    { name: 'raw pipe', run: async () => ({ ms: (await runRawPipe(file, join(scratch, 'raw-pipe.bin'), ctx.teardown, deadline)).ms }) },
    { name: 'sha256sum', run: async () => ({ ms: await runSha256sum(file, ctx.teardown, deadline) }) },
  ];
  const results: BenchResult[] = [];
  if (missing !== undefined) {
    ctx.log('W1: rsync and ceilings only');
    const upload = await alternate(ctx.options.runs, [{ name: 'rsync', run: rsyncUpload }, ...ceilings]);
    results.push(
      { kind: 'unavailable', workload: 'W1', label: 'W1 upload', reason: `not available yet: ${missing}` },
      timed('W1 upload', 'rsync', upload, bytes),
      timed('W1 ceiling', 'raw pipe', upload, bytes),
      timed('W1 ceiling', 'sha256sum', upload, bytes),
    );
    return results;
  }

  const fos = await ctx.fos();
  ctx.log('W1: upload');
  const upload = await alternate(ctx.options.runs, [
    { name: 'fos', run: (index) => timeFos(ctx, fos, fos.direct, ['upload', file, '--to', `w1/up-${index}`]) },
    { name: 'rsync', run: rsyncUpload },
    ...ceilings,
  ]);
  const countedUpload = await timeFos(ctx, fos, fos.counted, ['upload', file, '--to', 'w1/counted']);

  ctx.log('W1: download');
  const fosDownload = async (index: number, account = fos.direct): Promise<Sample> => {
    const out = join(scratch, `fos-down-${index}`);
    await mkdir(out, { recursive: true });
    try {
      return await timeFos(ctx, fos, account, ['download', 'w1/up-0/big.bin', '--out', out]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  };
  const download = await alternate(ctx.options.runs, [
    { name: 'fos', run: (index) => fosDownload(index) },
    {
      name: 'rsync',
      run: async (index) => {
        const out = join(scratch, `rsync-down-${index}`);
        await mkdir(out, { recursive: true });
        try {
          const run = await runRsync(daemon.url('w1/up-0/big.bin'), `${out}/`, [], ctx.teardown, deadline);
          return { ms: run.ms, wire: run.wire };
        } finally {
          await rm(out, { recursive: true, force: true });
        }
      },
    },
  ]);
  const countedDownload = await fosDownload(-1, fos.counted);

  results.push(
    timed('W1 upload', 'fos', upload, bytes, countedUpload),
    timed('W1 upload', 'rsync', upload, bytes),
    timed('W1 download', 'fos', download, bytes, countedDownload),
    timed('W1 download', 'rsync', download, bytes),
    timed('W1 ceiling', 'raw pipe', upload, bytes),
    timed('W1 ceiling', 'sha256sum', upload, bytes),
  );
  return results;
}

function timed(label: string, tool: Tool, table: SampleTable, payloadBytes: number, counted?: Sample): TimedResult {
  const samples = table.get(tool) ?? [];
  const wire = counted?.wire ?? typicalWire(samples);
  const rss = peakRss(counted === undefined ? samples : [...samples, counted]);
  return {
    kind: 'timed',
    workload: 'W1',
    label,
    tool,
    samplesMs: samples.map((sample) => sample.ms),
    payloadBytes,
    ...(wire === undefined ? {} : { wire }),
    ...(rss === undefined ? {} : { rss }),
  };
}
