/**
 * `npm run bench`: fos side by side with rsync (and a raw Node pipe) on the workloads of
 * issue 8, alternating tools run after run, then one table, the target verdicts, and
 * optionally JSON. Exits 0 when every case ran (a part of fos that has not landed yet is
 * reported as not available, and a case that overran its deadline as timed out, not as
 * failures), 1 when a case failed, 2 on a bad flag.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runL1, runM1 } from './agent-cases.js';
import { BenchContext } from './context.js';
import { CommandError } from './measure.js';
import { parseOptions, USAGE, UsageError, type BenchOptions } from './options.js';
import { formatFailures, formatInfo, formatTable, formatTargets, writeJson, type RunInfo } from './report.js';
import { rsyncInfo } from './rsync.js';
import { runW2, runW3, runW4, runW5 } from './sync-cases.js';
import { evaluateTargets } from './targets.js';
import { Teardown } from './teardown.js';
import { runW1 } from './transfer-cases.js';
import type { BenchResult, WorkloadId } from './types.js';
import { workloadSizes } from './workloads.js';

const CASES: Readonly<Record<WorkloadId, (ctx: BenchContext) => Promise<BenchResult[]>>> = Object.freeze({
  W1: runW1,
  W2: runW2,
  W3: runW3,
  W4: runW4,
  W5: runW5,
  L1: runL1,
  M1: runM1,
});

/** Runs the bench with `args` and resolves to the process exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (options.isHelp) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const teardown = new Teardown();
  teardown.installSignalHandlers();
  const root = await mkdtemp(join(tmpdir(), 'fos-bench-'));
  teardown.removeLater(root);
  if (options.cpuProfileDir !== undefined) await mkdir(options.cpuProfileDir, { recursive: true });
  const ctx = new BenchContext(options, workloadSizes(options.isQuick), root, teardown);
  const results: BenchResult[] = [];
  try {
    const rsync = await rsyncInfo();
    for (const workload of options.only) {
      ctx.log(`${workload} (${options.isQuick ? 'quick' : 'full'})`);
      const caseStarted = performance.now();
      try {
        results.push(...(await CASES[workload](ctx)));
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        ctx.log(`${workload} failed: ${reason}`);
        const isTimeout = err instanceof CommandError && err.isTimeout;
        results.push({ kind: 'failed', workload, label: workload, reason, isTimeout });
      }
      ctx.log(`${workload} done in ${((performance.now() - caseStarted) / 1000).toFixed(1)} s`);
    }
    const info = runInfo(options, rsync.version, rsync.compressList, loadAtStart, performance.now() - started);
    const verdicts = evaluateTargets(results.filter((result) => options.only.includes(result.workload)));
    process.stdout.write(`\n${formatInfo(info)}\n\n${formatTable(results)}\n\n${formatTargets(verdicts)}\n`);
    const failures = formatFailures(results);
    if (failures !== '') process.stdout.write(`\n${failures}\n`);
    if (options.jsonFile !== undefined) await writeJson(options.jsonFile, info, results, verdicts);
    // Slowness alone never fails the run (CI asserts no timing); a broken case does.
    return results.some((result) => result.kind === 'failed' && !result.isTimeout) ? 1 : 0;
  } finally {
    await teardown.close();
  }
}

function runInfo(options: BenchOptions, rsync: string, rsyncCompressList: string, loadAtStart: number, durationMs: number): RunInfo {
  const cores = cpus();
  return {
    date: new Date().toISOString(),
    mode: options.isQuick ? 'quick' : 'full',
    runs: options.runs,
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown CPU',
    memoryBytes: totalmem(),
    node: process.version,
    rsync,
    rsyncCompressList,
    kernel: `${type()} ${release()}`,
    loadAtStart,
    loadAtEnd: loadavg()[0] ?? 0,
    durationMs: Math.round(durationMs),
  };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
