/**
 * The shared vocabulary of the benchmark: workload ids, tools, and the results that the
 * cases produce and the report prints.
 */

/** The workloads of issue 8, in the order they run. */
export const WORKLOAD_IDS = Object.freeze(['W1', 'W2', 'W3', 'W4', 'W5', 'L1', 'M1'] as const);

/** One workload id. */
export type WorkloadId = (typeof WORKLOAD_IDS)[number];

/** Who did the work of a row: fos, its peer, the ceilings, or a reference figure. */
export type Tool = 'fos' | 'rsync' | 'rsync --fsync' | 'raw pipe' | 'sha256sum' | 'reference';

/** Bytes counted on the wire, from the client's side. */
export interface WireBytes {
  readonly sentBytes: number;
  readonly receivedBytes: number;
}

/** Peak resident memory of the fos processes during a case, in bytes. */
export interface FosRss {
  readonly clientBytes: number;
  readonly serverBytes: number;
}

/** A case timed over several runs: a transfer, a sync pass, a hash. */
export interface TimedResult {
  readonly kind: 'timed';
  readonly workload: WorkloadId;
  /** What was measured, e.g. `W1 upload`; rows with the same label are compared. */
  readonly label: string;
  readonly tool: Tool;
  readonly samplesMs: readonly number[];
  /** Payload bytes of one run, for MB/s; 0 when throughput means nothing (a no-op). */
  readonly payloadBytes: number;
  readonly wire?: WireBytes;
  readonly rss?: FosRss;
  readonly note?: string;
}

/** Delays from a change on one agent to its arrival on the other. */
export interface LatencyResult {
  readonly kind: 'latency';
  readonly workload: WorkloadId;
  readonly label: string;
  readonly tool: Tool;
  readonly samplesMs: readonly number[];
  /** Changes that never arrived within the deadline (not in the samples). */
  readonly lost: number;
  readonly rss?: FosRss;
}

/** Resident memory of an idle process. */
export interface MemoryResult {
  readonly kind: 'memory';
  readonly workload: WorkloadId;
  readonly label: string;
  readonly tool: Tool;
  readonly idleRssBytes: number;
  readonly peakRssBytes: number;
  readonly files: number;
}

/** A fixed figure printed for comparison, such as a 10 s watcher delay. */
export interface ReferenceResult {
  readonly kind: 'reference';
  readonly workload: WorkloadId;
  readonly label: string;
  readonly tool: Tool;
  readonly ms: number;
  readonly note: string;
}

/** A workload that cannot run because a part of fos has not landed. */
export interface UnavailableResult {
  readonly kind: 'unavailable';
  readonly workload: WorkloadId;
  readonly label: string;
  readonly reason: string;
}

/** A case that ran and broke: a command failed or a deadline passed. */
export interface FailedResult {
  readonly kind: 'failed';
  readonly workload: WorkloadId;
  readonly label: string;
  readonly reason: string;
  /** True when the only fault was slowness: a deadline passed (no timing is asserted). */
  readonly isTimeout: boolean;
}

/** Any row of the report. */
export type BenchResult =
  | TimedResult
  | LatencyResult
  | MemoryResult
  | ReferenceResult
  | UnavailableResult
  | FailedResult;

/** The outcome of one target of issue 8. */
export interface TargetVerdict {
  readonly workload: WorkloadId;
  readonly status: 'PASS' | 'MISS' | 'N/A';
  readonly text: string;
}
