/**
 * What `fos status` shows: the agent's state as its socket answers it and as it writes it
 * to `<stateDir>/status.json`. `--json` prints this shape; it is a stable contract.
 */
import type { ConflictCopy, GuardReport, HeldReport, PathError, SkippedOp, TransferState } from '../sync/engine-types.js';
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
  /**
   * Deletions held on the server for a person to approve or reject (`fos deletions`), per
   * side; empty when none are pending.
   */
  readonly held: readonly HeldReport[];
  readonly problems: readonly Problem[];
  /** The server revision this pair is current to. */
  readonly cursor: number;
  /** How much of the folder the local watcher covers. */
  readonly watch: WatchStatus;
}

/**
 * How much of a pair's folder the local watcher covers (issue 11: watcher budget). The
 * system limits file watches per user (inotify on Linux); a folder that needs more than the
 * agent may use is watched in part, and the rest is seen by rescans only.
 */
export interface WatchStatus {
  /** 'full': every folder is watched; 'degraded': part of the folder is seen by rescans only. */
  readonly state: 'full' | 'degraded';
  /** Why it is degraded, for people; null when full. */
  readonly reason: string | null;
  /** Folders in the pair at the last count (ignored ones left out). */
  readonly folders: number;
  /** Folders the watcher was given. */
  readonly watchedFolders: number;
  /** Watches the whole folder would take: one per folder. */
  readonly watchesNeeded: number;
  /** The system's limit of watches per user, or null when there is none to read. */
  readonly limit: number | null;
  /** Watches the agent allows itself, every pair together (`maxWatches`, or the limit less a reserve); null: no limit. */
  readonly budget: number | null;
  /** Watches the system refused since the watcher started (its limit was reached, by fos or other programs). */
  readonly refused: number;
  /** The top folders seen by rescans only, at most 20 ('' for the whole folder). */
  readonly unwatched: readonly string[];
  /** Seconds between rescans of the unwatched part while degraded. */
  readonly rescanIntervalSec: number;
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
