/**
 * What `fos status` shows: the agent's state as its socket answers it and as it writes it
 * to `<stateDir>/status.json`. `--json` prints this shape; it is a stable contract.
 */
import type { ConflictCopy, GuardReport, PathError, SkippedOp, TransferState } from '../sync/engine-types.js';
import type { Problem } from '../sync/types.js';

/** One folder pair's state. */
export interface PairStatus {
  readonly local: string;
  readonly remote: string;
  /** When the last pass finished, ms since the epoch, or null before the first. */
  readonly lastSyncAt: number | null;
  /** True when the last pass left nothing to do. */
  readonly inSync: boolean;
  /** A pass is running now. */
  readonly syncing: boolean;
  /** Operations waiting in the queue. */
  readonly queue: number;
  readonly transfers: readonly TransferState[];
  /** Conflict copies made since the agent started (latest last, at most 50). */
  readonly conflicts: readonly ConflictCopy[];
  /** Paths that failed, with their next retry time. */
  readonly errors: readonly PathError[];
  /** Paths left for later (being written, changed meanwhile). */
  readonly pending: readonly SkippedOp[];
  /** The guard that stopped the last pass, or null. */
  readonly guard: GuardReport | null;
  readonly problems: readonly Problem[];
  /** The server revision this pair is current to. */
  readonly cursor: number;
}

/** The agent's state. */
export interface AgentStatus {
  /** True when a running agent answered; false when read from the status file. */
  readonly running: boolean;
  readonly pid: number;
  readonly device: string;
  readonly server: string;
  readonly serverReachable: boolean;
  /** The last error talking to the server, or null. */
  readonly serverError: string | null;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly pairs: readonly PairStatus[];
}
