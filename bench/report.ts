/**
 * The bench's output: one table of every row, the target verdicts, and the same figures
 * as JSON for `--json FILE`.
 */
import { writeFile } from 'node:fs/promises';
import { formatBytes, formatMs, maximum, MB, median, minimum, percentile } from './stats.js';
import type { BenchResult, TargetVerdict, TimedResult } from './types.js';

/** Where and how the figures were taken, printed above the table and stored in the JSON. */
export interface RunInfo {
  readonly date: string;
  readonly mode: 'full' | 'quick';
  readonly runs: number;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly rsync: string;
  readonly rsyncCompressList: string;
  readonly kernel: string;
  /** 1-minute load averages when the run started and ended: the machine is shared. */
  readonly loadAtStart: number;
  readonly loadAtEnd: number;
  readonly durationMs: number;
}

const HEADERS = ['workload', 'tool', 'median (min–max)', 'MB/s', 'on the wire', 'fos peak RSS', 'fos / rsync'] as const;

/** The table as text lines: a header, a rule, then one line per row. */
export function formatTable(results: readonly BenchResult[]): string {
  const rows = results.map((result) => cells(result, results));
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** One line per target: `PASS W1 upload: …`. */
export function formatTargets(verdicts: readonly TargetVerdict[]): string {
  return verdicts.map((verdict) => `${verdict.status.padEnd(4)} ${verdict.text}`).join('\n');
}

/** The full reasons of failed cases, or '' when none failed. */
export function formatFailures(results: readonly BenchResult[]): string {
  return results
    .flatMap((result) => (result.kind === 'failed' ? [`${result.workload} ${result.isTimeout ? 'timed out' : 'failed'}: ${result.reason}`] : []))
    .join('\n');
}

/** The header lines: date, machine, mode. */
export function formatInfo(info: RunInfo): string {
  return [
    `fos bench, ${info.mode} mode, ${info.runs} run(s) per tool, ${info.date}`,
    `machine: ${info.cpus} cores (${info.cpuModel}), ${(info.memoryBytes / 1024 ** 3).toFixed(0)} GiB, ${info.kernel}; node ${info.node}; ${info.rsync} (compress: ${info.rsyncCompressList})`,
    `load average ${info.loadAtStart.toFixed(1)} at start, ${info.loadAtEnd.toFixed(1)} at end; took ${(info.durationMs / 1000).toFixed(0)} s`,
    'MB = 10^6 bytes; on the wire = bytes both ways between client and server; fos peak RSS = client / server',
  ].join('\n');
}

/**
 * Writes the figures as JSON.
 * @throws Error from the file system.
 */
export async function writeJson(file: string, info: RunInfo, results: readonly BenchResult[], verdicts: readonly TargetVerdict[]): Promise<void> {
  const rows = results.map((result) => {
    switch (result.kind) {
      case 'timed':
        return { ...result, medianMs: median(result.samplesMs), mbPerSecond: throughput(result) };
      case 'latency':
        return { ...result, p50Ms: percentile(result.samplesMs, 50), p99Ms: percentile(result.samplesMs, 99) };
      default:
        return result;
    }
  });
  await writeFile(file, `${JSON.stringify({ info, results: rows, targets: verdicts }, null, 2)}\n`);
}

function cells(result: BenchResult, all: readonly BenchResult[]): string[] {
  switch (result.kind) {
    case 'timed':
      return [
        result.label,
        result.tool,
        spread(result.samplesMs),
        result.payloadBytes > 0 ? (throughput(result) ?? 0).toFixed(0) : '–',
        result.wire === undefined ? '–' : formatBytes(result.wire.sentBytes + result.wire.receivedBytes),
        result.rss === undefined ? '–' : `${formatBytes(result.rss.clientBytes)} / ${formatBytes(result.rss.serverBytes)}`,
        result.tool === 'fos' ? ratio(result, all) : '',
      ];
    case 'latency': {
      const reference = all.find((r) => r.kind === 'reference' && r.label === result.label);
      const p50 = percentile(result.samplesMs, 50);
      const lost = result.lost === 0 ? '' : `, ${result.lost} lost`;
      return [
        result.label,
        result.tool,
        `p50 ${formatMs(p50)}, p99 ${formatMs(percentile(result.samplesMs, 99))} (${formatMs(minimum(result.samplesMs))}–${formatMs(maximum(result.samplesMs))}${lost})`,
        '–',
        '–',
        result.rss === undefined ? '–' : `${formatBytes(result.rss.clientBytes)} / ${formatBytes(result.rss.serverBytes)}`,
        reference?.kind === 'reference' ? `${(p50 / reference.ms).toFixed(3)} of ref.` : '',
      ];
    }
    case 'memory':
      return [result.label, result.tool, '–', '–', '–', `idle ${formatBytes(result.idleRssBytes)}, peak ${formatBytes(result.peakRssBytes)}`, ''];
    case 'reference':
      return [result.label, `${result.tool}: ${result.note}`, formatMs(result.ms), '–', '–', '–', ''];
    case 'unavailable':
      return [result.label, 'fos', result.reason, '', '', '', ''];
    case 'failed':
      return [result.label, 'fos', result.isTimeout ? 'TIMED OUT (see below)' : 'FAILED (see below)', '', '', '', ''];
    default: {
      const never: never = result;
      return [String(never)];
    }
  }
}

function spread(samplesMs: readonly number[]): string {
  if (samplesMs.length === 0) return '–';
  if (samplesMs.length === 1) return formatMs(samplesMs[0] ?? Number.NaN);
  return `${formatMs(median(samplesMs))} (${formatMs(minimum(samplesMs))}–${formatMs(maximum(samplesMs))})`;
}

function throughput(result: TimedResult): number | undefined {
  if (result.payloadBytes === 0 || result.samplesMs.length === 0) return undefined;
  return result.payloadBytes / MB / (median(result.samplesMs) / 1000);
}

function ratio(fos: TimedResult, all: readonly BenchResult[]): string {
  const rsync = all.find((r): r is TimedResult => r.kind === 'timed' && r.label === fos.label && r.tool === 'rsync');
  if (rsync === undefined || rsync.samplesMs.length === 0 || fos.samplesMs.length === 0) return '';
  return `${(median(fos.samplesMs) / median(rsync.samplesMs)).toFixed(2)}`;
}
