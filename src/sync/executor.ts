/**
 * The executor: runs a plan's operations through p-queue with bounded concurrency over the
 * client pool. Operations are cut into batches in plan order; a batch never holds two
 * operations on the same path or on a path and one of its ancestors, and a batch starts
 * only when the one before it is done. So one path's operations keep their order, a
 * folder exists before anything lands in it, and folders are removed children first,
 * while unrelated paths transfer side by side.
 *
 * Each path's failure is its own (issue 11): it is recorded with a next retry time and
 * the other paths go on. A refusal by the server's revision check is not an error: the
 * path is left for the next round, whose reconcile turns it into a conflict copy.
 */
import PQueue from 'p-queue';
import { FosError } from '../errors.js';
import { applyOp } from './apply-op.js';
import { applyUploads, groupUploads } from './apply-uploads.js';
import type { OpContext, OpOutcome } from './apply-op.js';
import type { ConflictCopy, ExecutionReport, PathError, SkippedOp } from './engine-types.js';
import type { ErrorBook } from './error-book.js';
import { countOps, opPath, opPaths } from './order.js';
import { ancestorsOf } from './path-tree.js';
import { describeOp } from './plan-totals.js';
import type { Op, UploadOp } from './types.js';

/** Options of `executePlan`. */
export interface ExecutorOptions {
  /** Operations at once (transfers side by side). Default 4. */
  readonly concurrency?: number;
  readonly errors: ErrorBook;
  /** Stops scheduling new operations; those in hand finish (SIGTERM). */
  readonly stop?: AbortSignal;
  /** Told how many operations wait, as the number changes. */
  readonly onQueue?: (waiting: number) => void;
  /** Told after each operation. */
  readonly onOutcome?: (op: Op, outcome: OpOutcome | { readonly kind: 'failed'; readonly error: PathError }) => void;
}

/** Server codes that mean "the server's state moved on": re-plan, do not retry blindly. */
const STALE_CODES: ReadonlySet<string> = new Set([
  'FOS_ERR_STORE_CONFLICT',
  'FOS_ERR_STORE_CHANGED',
  'FOS_ERR_PATH_EXISTS',
  'FOS_ERR_PATH_NOT_EMPTY',
  'FOS_ERR_PATH_NOT_FOUND',
]);

/** Codes after which the server is out of reach for every path, not just this one. */
const OFFLINE_CODES: ReadonlySet<string> = new Set([
  'FOS_ERR_NET_CONNECT',
  'FOS_ERR_NET_CLOSED',
  'FOS_ERR_NET_TIMEOUT',
  'FOS_ERR_NET_TLS',
  'FOS_ERR_PROTO_TIMEOUT',
  'FOS_ERR_PROTO_SHUTTING_DOWN',
  'FOS_ERR_AUTH_FAILED',
  'FOS_ERR_AUTH_RATE_LIMITED',
]);

/** Cuts operations into batches of mutually unrelated paths, in plan order. */
export function batchOps(ops: readonly Op[]): Op[][] {
  const batches: Op[][] = [];
  let current: Op[] = [];
  let taken = new Set<string>();
  let above = new Set<string>();
  for (const op of ops) {
    const paths = opPaths(op);
    const clash = paths.some((p) => taken.has(p) || above.has(p) || ancestorsOf(p).some((a) => taken.has(a)));
    if (clash && current.length > 0) {
      batches.push(current);
      current = [];
      taken = new Set();
      above = new Set();
    }
    current.push(op);
    for (const p of paths) {
      taken.add(p);
      for (const a of ancestorsOf(p)) above.add(a);
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Runs `ops` (in plan order) and reports what happened. Never throws for a single path's
 * failure; throws only the abort error when `ctx.signal` fires.
 */
export async function executePlan(ops: readonly Op[], ctx: OpContext, options: ExecutorOptions): Promise<ExecutionReport> {
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });
  const doneOps: Op[] = [];
  const conflicts: ConflictCopy[] = [];
  const skipped: SkippedOp[] = [];
  const failed: PathError[] = [];
  let bytesUploaded = 0;
  let bytesDownloaded = 0;
  let offline = false;
  let waiting = ops.length;
  options.onQueue?.(waiting);

  const runOne = async (op: Op, apply: () => Promise<OpOutcome> = () => applyOp(op, ctx)): Promise<void> => {
    const path = opPath(op);
    try {
      if (offline || options.stop?.aborted === true) return;
      if (options.errors.isBackingOff(path, ctx.now())) {
        skipped.push({ path, kind: op.kind, reason: 'backingOff' });
        return;
      }
      let outcome: OpOutcome;
      try {
        outcome = await apply();
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        const code = err instanceof FosError ? err.code : '';
        if (STALE_CODES.has(code)) {
          const reason = op.kind === 'upload' && code === 'FOS_ERR_PATH_NOT_FOUND' ? 'changedLocally' : 'staleRemote';
          outcome = { kind: 'skipped', reason };
        } else if (OFFLINE_CODES.has(code)) {
          offline = true;
          return;
        } else {
          const error = options.errors.record(path, op.kind, err, ctx.now());
          failed.push(error);
          options.onOutcome?.(op, { kind: 'failed', error });
          return;
        }
      }
      if (outcome.kind === 'done') {
        options.errors.clear(path);
        doneOps.push(op);
        bytesUploaded += outcome.uploaded;
        bytesDownloaded += outcome.downloaded;
        if (outcome.conflict !== null) conflicts.push(outcome.conflict);
      } else {
        // Every path the operation touches is left for later, not only its first: a refused
        // MOVE's destination or a conflict's copy must be looked at again too (issue 9).
        for (const p of opPaths(op)) skipped.push({ path: p, kind: op.kind, reason: outcome.reason });
      }
      options.onOutcome?.(op, outcome);
    } finally {
      waiting -= 1;
      options.onQueue?.(waiting);
    }
  };

  // Small uploads go in groups, one request per group (issue 8); each keeps its own outcome.
  const runGroup = async (group: readonly UploadOp[]): Promise<void> => {
    const eligible = group.filter((op) => !offline && options.stop?.aborted !== true && !options.errors.isBackingOff(op.path, ctx.now()));
    const results = eligible.length === 0 ? null : applyUploads(eligible, ctx);
    // Read below, once per operation; a failure of the whole group fails each of them.
    results?.catch(() => undefined);
    await Promise.all(
      group.map((op) =>
        runOne(op, async () => {
          const index = eligible.indexOf(op);
          if (results === null || index < 0) return applyOp(op, ctx);
          const result = (await results)[index];
          if (result === undefined) return applyOp(op, ctx);
          if (result.kind === 'error') throw result.error;
          return result.outcome;
        }),
      ),
    );
  };

  for (const batch of batchOps(ops)) {
    if (offline || options.stop?.aborted === true || ctx.signal.aborted) break;
    const { groups, others } = groupUploads(batch);
    await Promise.all([...others.map((op) => queue.add(() => runOne(op))), ...groups.map((group) => queue.add(() => runGroup(group)))]);
  }
  if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new FosError('FOS_ERR_CLI_ABORTED', 'aborted');
  options.onQueue?.(0);
  return {
    done: countOps(doneOps),
    executed: doneOps.map(describeOp),
    conflicts,
    skipped,
    failed,
    bytesUploaded,
    bytesDownloaded,
    offline,
  };
}
