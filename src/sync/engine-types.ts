/**
 * Types of the sync engine's I/O shell: the manifest seam the executor writes through,
 * what a transfer reports while it runs, and what a plan's execution and a pass add up to.
 */
import type { DeletionSide, EntryKind } from '../protocol/types.js';
import type { BaseState, GuardKind, Op, OpCounts, Problem } from './types.js';

/**
 * The manifest as the executor sees it: the agreed state per sync path. Writes are
 * buffered by the implementation and flushed in batches (DESIGN.md "Sync semantics").
 */
export interface BaseStore {
  /** Every record, by sync path. */
  readonly records: ReadonlyMap<string, BaseState>;
  set(path: string, state: BaseState): void;
  delete(path: string): void;
}

/** Which way a transfer goes. */
export type Direction = 'upload' | 'download';

/** A transfer in progress, as `fos status` shows it. */
export interface TransferState {
  readonly path: string;
  readonly direction: Direction;
  readonly bytes: number;
  readonly total: number;
  readonly startedAt: number;
}

/** Why an operation was left for the next pass without an error. */
export type SkipReason =
  /** The local path no longer matches what the scan saw. */
  | 'changedLocally'
  /** Something appeared at a local path that had to be free. */
  | 'appearedLocally'
  /** A local folder to remove still holds files that are not ignored. */
  | 'notEmpty'
  /** The file is still being written (size or mtime moved within the settle time). */
  | 'settling'
  /** The path failed before and waits for its next retry time. */
  | 'backingOff'
  /** The server refused: its revision moved on (someone else changed the path). */
  | 'staleRemote';

/** An operation left for later. */
export interface SkippedOp {
  readonly path: string;
  readonly kind: Op['kind'];
  readonly reason: SkipReason;
}

/** A failed operation, kept until the path syncs (issue 11: per-file error isolation). */
export interface PathError {
  readonly path: string;
  readonly op: Op['kind'];
  readonly code: string;
  readonly message: string;
  readonly attempts: number;
  readonly lastAt: number;
  readonly nextRetryAt: number;
}

/** A conflict copy the executor made. */
export interface ConflictCopy {
  readonly path: string;
  readonly copyPath: string;
  readonly loser: 'local' | 'remote';
}

/** What one run of the executor did. */
export interface ExecutionReport {
  /** Operations carried out, by kind. */
  readonly done: OpCounts;
  /** The operations carried out, described as a plan describes them, in the order they finished. */
  readonly executed: readonly PlannedOp[];
  readonly conflicts: readonly ConflictCopy[];
  readonly skipped: readonly SkippedOp[];
  readonly failed: readonly PathError[];
  readonly bytesUploaded: number;
  readonly bytesDownloaded: number;
  /** The server could not be reached; operations after that point were not tried. */
  readonly offline: boolean;
}

/** One line of a plan as `fos sync --plan` and `--json` print it. */
export interface PlannedOp {
  readonly kind: Op['kind'];
  readonly path: string;
  /** A move's destination, a conflict's copy. */
  readonly to?: string;
  readonly rule: string;
  readonly entryKind?: EntryKind;
  /** Bytes the operation transfers, both ways together (uploads, downloads, conflicts). */
  readonly bytes?: number;
}

/** What a plan adds up to (`fos sync --plan`; what `--max-ops` and `--max-bytes` judge). */
export interface PlanTotals {
  /** Operations that change a side: every kind but the manifest-only updateBase and dropBase. */
  readonly operations: number;
  readonly byKind: OpCounts;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Deletions on either side (deleteRemote and deleteLocal, files and folders). */
  readonly deletions: number;
}

/** Limits a scripted pass sets on its plan (`fos sync --max-ops N --max-bytes N`). */
export interface PassLimits {
  /** Most operations (as `PlanTotals.operations` counts them). */
  readonly maxOps?: number;
  /** Most bytes up and down together. */
  readonly maxBytes?: number;
}

/** A pass that stopped before changing anything because its plan went over a limit. */
export interface LimitStop {
  readonly kind: 'maxOps' | 'maxBytes';
  readonly limit: number;
  /** Operations or bytes the plan holds. */
  readonly planned: number;
}

/** Where a pass stands when its guard trips. */
export interface GuardReport {
  readonly kind: GuardKind;
  readonly deletions: number;
  readonly total: number;
  /** Bytes of the files the guard counted (0 for the root guards). */
  readonly bytes: number;
  readonly blocked: boolean;
  /** A sentence for people: what happened and what to do. */
  readonly message: string;
}

/**
 * Deletions a blocked mass-delete guard held back on one side, as a batch on the server
 * that a person approves or rejects (issue 11: `fos deletions`).
 */
export interface HeldReport {
  /** `remote`: files this device lost, kept on the server; `local`: files the server lost, kept here. */
  readonly side: DeletionSide;
  /** The batch on the server; null when it could not be recorded (`error`) or in a dry run. */
  readonly batchId: string | null;
  readonly count: number;
  readonly bytes: number;
  /** Why the batch could not be recorded (the deletions stay held all the same), or null. */
  readonly error: string | null;
}

/** The outcome of `runPass`. */
export interface PassReport {
  readonly local: string;
  readonly remote: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly dryRun: boolean;
  /**
   * Every operation the pass set out to do, all rounds (a dry run plans one round: the
   * whole pass when nothing changes meanwhile). Files still being written are left out
   * and listed in `execution.skipped` as settling.
   */
  readonly planned: readonly PlannedOp[];
  /** What `planned` adds up to. */
  readonly totals: PlanTotals;
  readonly execution: ExecutionReport;
  readonly guard: GuardReport | null;
  /** The limit that stopped the pass before it changed anything, or null. */
  readonly limit: LimitStop | null;
  /** Deletions held back as batches on the server, per side (empty when none are pending). */
  readonly held: readonly HeldReport[];
  /** What reconcile refused to decide, within `scope` (every round of the pass). */
  readonly problems: readonly Problem[];
  /**
   * The sync paths the pass looked at (each with everything below it); `['']` for the whole
   * folder. Problems elsewhere were not looked for, so they may still stand.
   */
  readonly scope: readonly string[];
  /** The server's revision the pass caught up to. */
  readonly cursor: number;
  /** True when nothing was left to do: no skip, no failure, no guard, no limit, no problem. */
  readonly inSync: boolean;
  /** Earliest time a skipped or failed path is worth another pass, or null. */
  readonly retryAt: number | null;
}
