/**
 * The execution order of a plan and its totals. Phases make the plan runnable front to
 * back: conflicts free their names first, file deletions clear the way for a folder that
 * replaces a file, folders exist before anything lands in them, moves run before the
 * folders they leave are removed, and those are removed children first before a file
 * takes a folder's place. Within a phase, paths sort in code-unit order. Pure.
 */
import { comparePaths, depthOf } from './path-tree.js';
import { OP_KINDS } from './types.js';
import type { Op, OpCounts } from './types.js';

/** The path an operation is filed under: `from` for moves. */
export function opPath(op: Op): string {
  return op.kind === 'moveRemote' || op.kind === 'moveLocal' ? op.from : op.path;
}

/** Every path an operation writes or removes. */
export function opPaths(op: Op): string[] {
  switch (op.kind) {
    case 'moveRemote':
    case 'moveLocal':
      return [op.from, op.to];
    case 'conflict':
      return [op.path, op.copyPath];
    case 'upload':
    case 'download':
    case 'deleteRemote':
    case 'deleteLocal':
    case 'mkdirRemote':
    case 'mkdirLocal':
    case 'updateBase':
    case 'dropBase':
      return [op.path];
    default: {
      const unreachable: never = op;
      return unreachable;
    }
  }
}

/** True for a deletion of a file on either side (what the mass-delete guard counts). */
export function isFileDeletion(op: Op): boolean {
  if (op.kind === 'deleteRemote') return op.entryKind === 'file';
  if (op.kind === 'deleteLocal') return op.expect.kind === 'file';
  return false;
}

function phaseOf(op: Op): number {
  switch (op.kind) {
    case 'conflict':
      return 0;
    case 'deleteRemote':
      return op.entryKind === 'file' ? 1 : 4;
    case 'deleteLocal':
      return op.expect.kind === 'file' ? 1 : 4;
    case 'mkdirRemote':
    case 'mkdirLocal':
      return 2;
    case 'moveRemote':
    case 'moveLocal':
      return 3;
    case 'upload':
    case 'download':
      return 5;
    case 'updateBase':
    case 'dropBase':
      return 6;
    default: {
      const unreachable: never = op;
      return unreachable;
    }
  }
}

/** Sorts operations into execution order (a new array). */
export function orderOps(ops: readonly Op[]): Op[] {
  const keyed = ops.map((op) => ({ op, phase: phaseOf(op), path: opPath(op), depth: depthOf(opPath(op)) }));
  keyed.sort((a, b) => {
    if (a.phase !== b.phase) return a.phase - b.phase;
    // Folder removals: deepest first, so a folder is empty when its turn comes.
    if (a.phase === 4 && a.depth !== b.depth) return b.depth - a.depth;
    return comparePaths(a.path, b.path) || comparePaths(a.op.kind, b.op.kind);
  });
  return keyed.map((k) => k.op);
}

/** Counts operations by kind. */
export function countOps(ops: readonly Op[]): OpCounts {
  const counts = Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<Op['kind'], number>;
  for (const op of ops) counts[op.kind]++;
  return counts;
}

/** Bytes the plan would send and receive. */
export function countBytes(ops: readonly Op[]): { upload: number; download: number } {
  let upload = 0;
  let download = 0;
  for (const op of ops) {
    switch (op.kind) {
      case 'upload':
        upload += op.local.size;
        break;
      case 'download':
        download += op.entry.size;
        break;
      case 'conflict':
        if (op.loser === 'local') {
          upload += op.local.size;
          if (op.remote.kind === 'file') download += op.remote.size;
        } else {
          download += op.remote.size;
        }
        break;
      case 'deleteRemote':
      case 'deleteLocal':
      case 'mkdirRemote':
      case 'mkdirLocal':
      case 'moveRemote':
      case 'moveLocal':
      case 'updateBase':
      case 'dropBase':
        break;
      default: {
        const unreachable: never = op;
        return unreachable;
      }
    }
  }
  return { upload, download };
}
