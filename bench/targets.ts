/**
 * The targets of issue 8, judged on the figures of one run: each comes out PASS, MISS,
 * or N/A when its figures are missing (a workload skipped, failed or not available yet).
 */
import { REFERENCE_WATCH_DELAY_MS } from './agent-cases.js';
import { formatBytes, formatMs, MB, median, percentile } from './stats.js';
import type { BenchResult, FailedResult, LatencyResult, MemoryResult, TargetVerdict, TimedResult, Tool, UnavailableResult, WorkloadId } from './types.js';

/** Issue 8's thresholds. */
export const TARGETS = Object.freeze({
  /** W1: fos throughput at least this share of the raw Node pipe's. */
  w1RawPipeShare: 0.6,
  /** W2: fos time at most this multiple of rsync's. */
  w2RsyncFactor: 1.5,
  /** W3: fos time at most hashing the file plus this. */
  w3SlackMs: 1_000,
  /** W4: fos no-op pass at most this long (and no slower than rsync's). */
  w4MaxMs: 2_000,
  /** W5: fos time at most this multiple of rsync -z's (and no more bytes). */
  w5RsyncFactor: 1.2,
  /** L1: delay percentiles. */
  l1P50Ms: 300,
  l1P99Ms: 1_000,
  /** M1: idle resident memory, decimal megabytes. */
  m1MaxBytes: 150 * MB,
});

/** Judges every target of issue 8 against `results`. */
export function evaluateTargets(results: readonly BenchResult[]): TargetVerdict[] {
  return [
    ...['W1 upload', 'W1 download'].map((label) => w1(results, label)),
    w2(results),
    w3(results),
    w4(results),
    w5(results),
    l1(results),
    m1(results),
  ];
}

function w1(results: readonly BenchResult[], label: string): TargetVerdict {
  const fos = timed(results, label, 'fos');
  const rsync = timed(results, label, 'rsync');
  const pipe = timed(results, 'W1 ceiling', 'raw pipe');
  if (fos === undefined || rsync === undefined || pipe === undefined) return missing('W1', label, results);
  const [fosRate, rsyncRate, pipeRate] = [rate(fos), rate(rsync), rate(pipe)];
  const share = fosRate / pipeRate;
  const ok = fosRate >= rsyncRate && share >= TARGETS.w1RawPipeShare;
  return verdict('W1', ok, `${label}: fos ${mbps(fosRate)} vs rsync ${mbps(rsyncRate)}; ${percent(share)} of the raw pipe's ${mbps(pipeRate)} (target ≥ rsync and ≥ ${percent(TARGETS.w1RawPipeShare)})`);
}

function w2(results: readonly BenchResult[]): TargetVerdict {
  const pair = fosAndRsync(results, 'W2');
  if (pair === undefined) return missing('W2', 'W2', results);
  const fosMs = median(pair.fos.samplesMs);
  const factor = fosMs / median(pair.rsync.samplesMs);
  const durable = timed(results, pair.fos.label, 'rsync --fsync');
  const reference = durable === undefined ? '' : `; rsync --fsync ${formatMs(median(durable.samplesMs))}, ${(fosMs / median(durable.samplesMs)).toFixed(2)} ×`;
  return verdict(
    'W2',
    factor <= TARGETS.w2RsyncFactor,
    `W2: fos ${formatMs(fosMs)} = ${factor.toFixed(2)} × rsync ${formatMs(median(pair.rsync.samplesMs))} (target ≤ ${TARGETS.w2RsyncFactor} ×)${reference}`,
  );
}

function w3(results: readonly BenchResult[]): TargetVerdict {
  const pair = fosAndRsync(results, 'W3');
  const hash = pair && timed(results, pair.fos.label, 'sha256sum');
  if (pair === undefined || hash === undefined) return missing('W3', 'W3', results);
  const fosMs = median(pair.fos.samplesMs);
  const limitMs = median(hash.samplesMs) + TARGETS.w3SlackMs;
  const wire = pair.fos.wire === undefined ? 'not counted' : formatBytes(pair.fos.wire.sentBytes + pair.fos.wire.receivedBytes);
  const rsyncWire = pair.rsync.wire === undefined ? 'not counted' : formatBytes(pair.rsync.wire.sentBytes + pair.rsync.wire.receivedBytes);
  return verdict('W3', fosMs <= limitMs, `W3: fos ${formatMs(fosMs)} vs sha256sum + 1 s = ${formatMs(limitMs)}; on the wire fos ${wire}, rsync ${rsyncWire} (rsync took ${formatMs(median(pair.rsync.samplesMs))})`);
}

function w4(results: readonly BenchResult[]): TargetVerdict {
  const pair = fosAndRsync(results, 'W4');
  if (pair === undefined) return missing('W4', 'W4', results);
  const fosMs = median(pair.fos.samplesMs);
  const rsyncMs = median(pair.rsync.samplesMs);
  return verdict('W4', fosMs <= TARGETS.w4MaxMs && fosMs <= rsyncMs, `W4: fos ${formatMs(fosMs)} vs rsync ${formatMs(rsyncMs)} (target ≤ ${formatMs(TARGETS.w4MaxMs)} and ≤ rsync)`);
}

function w5(results: readonly BenchResult[]): TargetVerdict {
  const pair = fosAndRsync(results, 'W5');
  if (pair === undefined || pair.fos.wire === undefined || pair.rsync.wire === undefined) return missing('W5', 'W5', results);
  const fosBytes = pair.fos.wire.sentBytes + pair.fos.wire.receivedBytes;
  const rsyncBytes = pair.rsync.wire.sentBytes + pair.rsync.wire.receivedBytes;
  const factor = median(pair.fos.samplesMs) / median(pair.rsync.samplesMs);
  return verdict(
    'W5',
    fosBytes <= rsyncBytes && factor <= TARGETS.w5RsyncFactor,
    `W5: fos ${formatBytes(fosBytes)} vs rsync -z ${formatBytes(rsyncBytes)} on the wire; time ${factor.toFixed(2)} × rsync -z (target ≤ its bytes and ≤ ${TARGETS.w5RsyncFactor} ×)`,
  );
}

function l1(results: readonly BenchResult[]): TargetVerdict {
  const row = results.find((r): r is LatencyResult => r.kind === 'latency' && r.workload === 'L1');
  if (row === undefined || row.samplesMs.length === 0) return missing('L1', 'L1', results);
  const p50 = percentile(row.samplesMs, 50);
  const p99 = percentile(row.samplesMs, 99);
  const ok = p50 <= TARGETS.l1P50Ms && p99 <= TARGETS.l1P99Ms && row.lost === 0;
  const lost = row.lost === 0 ? '' : `, ${row.lost} never arrived`;
  return verdict('L1', ok, `L1: p50 ${formatMs(p50)}, p99 ${formatMs(p99)}${lost} (target ≤ ${formatMs(TARGETS.l1P50Ms)} and ≤ ${formatMs(TARGETS.l1P99Ms)}; a ${formatMs(REFERENCE_WATCH_DELAY_MS)} watcher delay for reference)`);
}

function m1(results: readonly BenchResult[]): TargetVerdict {
  const row = results.find((r): r is MemoryResult => r.kind === 'memory' && r.workload === 'M1');
  if (row === undefined) return missing('M1', 'M1', results);
  return verdict('M1', row.idleRssBytes <= TARGETS.m1MaxBytes, `M1: idle RSS ${formatBytes(row.idleRssBytes)} with ${row.files} files watched, peak ${formatBytes(row.peakRssBytes)} (target ≤ ${formatBytes(TARGETS.m1MaxBytes)})`);
}

function timed(results: readonly BenchResult[], label: string, tool: Tool): TimedResult | undefined {
  return results.find((r): r is TimedResult => r.kind === 'timed' && r.label === label && r.tool === tool && r.samplesMs.length > 0);
}

function fosAndRsync(results: readonly BenchResult[], workload: WorkloadId): { fos: TimedResult; rsync: TimedResult } | undefined {
  const fos = results.find((r): r is TimedResult => r.kind === 'timed' && r.workload === workload && r.tool === 'fos' && r.samplesMs.length > 0);
  if (fos === undefined) return undefined;
  const rsync = timed(results, fos.label, 'rsync');
  return rsync === undefined ? undefined : { fos, rsync };
}

function rate(row: TimedResult): number {
  return row.payloadBytes / (median(row.samplesMs) / 1000);
}

function mbps(bytesPerSecond: number): string {
  return `${(bytesPerSecond / MB).toFixed(0)} MB/s`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)} %`;
}

function verdict(workload: WorkloadId, ok: boolean, text: string): TargetVerdict {
  return { workload, status: ok ? 'PASS' : 'MISS', text };
}

function missing(workload: WorkloadId, label: string, results: readonly BenchResult[]): TargetVerdict {
  const why = results.find((r): r is UnavailableResult | FailedResult => (r.kind === 'unavailable' || r.kind === 'failed') && r.workload === workload);
  const reason = why === undefined ? 'not run' : why.kind === 'failed' ? (why.isTimeout ? 'timed out' : 'failed') : why.reason;
  return { workload, status: 'N/A', text: `${label}: ${reason}` };
}
