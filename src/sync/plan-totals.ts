/**
 * What a plan adds up to, as `fos sync --plan` prints it and `--max-ops` / `--max-bytes`
 * judge it: each operation described for people and scripts, the totals, and the limit
 * a plan goes over. Pure.
 */
import type { ExecutionReport, LimitStop, PassLimits, PlannedOp, PlanTotals } from './engine-types.js';
import { countBytes, countOps } from './order.js';
import { OP_KINDS } from './types.js';
import type { Op, OpCounts } from './types.js';

/** Kinds that only write the manifest: they change neither side, and `--max-ops` does not count them. */
export const MANIFEST_ONLY_KINDS: ReadonlySet<Op['kind']> = new Set<Op['kind']>(['updateBase', 'dropBase']);

/** An operation as a plan lists it: kind, path, target, rule, bytes. */
export function describeOp(op: Op): PlannedOp {
  switch (op.kind) {
    case 'upload':
    case 'download':
      return { kind: op.kind, path: op.path, rule: op.rule, bytes: transferred(op) };
    case 'moveRemote':
    case 'moveLocal':
      return { kind: op.kind, path: op.from, to: op.to, rule: op.rule, entryKind: op.entryKind };
    case 'conflict':
      return { kind: op.kind, path: op.path, to: op.copyPath, rule: op.rule, bytes: transferred(op) };
    case 'deleteRemote':
      return { kind: op.kind, path: op.path, rule: op.rule, entryKind: op.entryKind };
    case 'deleteLocal':
      return { kind: op.kind, path: op.path, rule: op.rule, entryKind: op.expect.kind };
    case 'mkdirRemote':
    case 'mkdirLocal':
    case 'updateBase':
    case 'dropBase':
      return { kind: op.kind, path: op.path, rule: op.rule };
    default: {
      const unreachable: never = op;
      return unreachable;
    }
  }
}

/** Operations that change a side, of counts by kind. */
function changingOps(counts: OpCounts): number {
  return OP_KINDS.reduce((n, kind) => (MANIFEST_ONLY_KINDS.has(kind) ? n : n + counts[kind]), 0);
}

function transferred(op: Op): number {
  const bytes = countBytes([op]);
  return bytes.upload + bytes.download;
}

/** The totals of a list of operations. */
export function planTotals(ops: readonly Op[]): PlanTotals {
  const byKind = countOps(ops);
  const bytes = countBytes(ops);
  return {
    operations: changingOps(byKind),
    byKind,
    bytesUp: bytes.upload,
    bytesDown: bytes.download,
    deletions: byKind.deleteRemote + byKind.deleteLocal,
  };
}

/** Two totals added up (the rounds of a pass, the passes of `fos sync`). */
export function addTotals(a: PlanTotals, b: PlanTotals): PlanTotals {
  const byKind = Object.fromEntries(OP_KINDS.map((kind) => [kind, a.byKind[kind] + b.byKind[kind]])) as Record<Op['kind'], number>;
  return {
    operations: a.operations + b.operations,
    byKind,
    bytesUp: a.bytesUp + b.bytesUp,
    bytesDown: a.bytesDown + b.bytesDown,
    deletions: a.deletions + b.deletions,
  };
}

/** The limit `totals` goes over (operations are checked first), or null. */
export function overLimit(totals: PlanTotals, limits: PassLimits): LimitStop | null {
  if (limits.maxOps !== undefined && totals.operations > limits.maxOps) {
    return { kind: 'maxOps', limit: limits.maxOps, planned: totals.operations };
  }
  const bytes = totals.bytesUp + totals.bytesDown;
  if (limits.maxBytes !== undefined && bytes > limits.maxBytes) return { kind: 'maxBytes', limit: limits.maxBytes, planned: bytes };
  return null;
}

/**
 * What is left of `limits` once `done` was carried out: the budget of a further pass of
 * the same `fos sync` (after a wait for files being written, which the first pass's check
 * already counted).
 */
export function remainingLimits(limits: PassLimits, done: ExecutionReport): PassLimits {
  const ops = changingOps(done.done);
  const bytes = done.bytesUploaded + done.bytesDownloaded;
  return {
    ...(limits.maxOps === undefined ? {} : { maxOps: Math.max(0, limits.maxOps - ops) }),
    ...(limits.maxBytes === undefined ? {} : { maxBytes: Math.max(0, limits.maxBytes - bytes) }),
  };
}
