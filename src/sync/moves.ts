/**
 * Rename detection: a delete of X plus an add of Y with the same content on the same side
 * is a move. A folder whose whole subtree disappeared and reappeared elsewhere with the
 * same names and hashes moves as one operation (issue 11: a 10,000-file folder rename is
 * one MOVE). Pure.
 */
import type { Entry } from '../protocol/types.js';
import { baseNameOf, comparePaths } from './path-tree.js';
import type { SortedPaths } from './path-tree.js';
import type { LocalState, MoveLocalOp, MoveRemoteOp } from './types.js';
import { sameContent } from './views.js';
import type { Content, Views } from './views.js';

/** The moves found, the paths they account for and the paths that exist after them. */
export interface MoveResult {
  readonly ops: (MoveRemoteOp | MoveLocalOp)[];
  /** Paths (in any view) the moves account for; reconcile decides nothing more for them. */
  readonly consumed: Set<string>;
  /** Destination paths and their subtrees: present after the plan. */
  readonly kept: string[];
}

/** One side's perspective: `moved` is where the rename happened, `other` mirrors the base. */
interface Side {
  /** Base paths absent on the moved side, and paths on it with no base record. */
  readonly gone: readonly string[];
  readonly arrived: readonly string[];
  readonly moved: ReadonlyMap<string, Content>;
  readonly movedKeys: SortedPaths;
  readonly other: ReadonlyMap<string, Content>;
  readonly otherKeys: SortedPaths;
  readonly emit: (from: string, to: string, isDir: boolean) => void;
}

/** Finds local renames (moveRemote) and remote renames (moveLocal). */
export function detectMoves(views: Views): MoveResult {
  const result: MoveResult = { ops: [], consumed: new Set(), kept: [] };
  const local: Side = {
    gone: views.goneLocal,
    arrived: views.newLocal,
    moved: views.local,
    movedKeys: views.localKeys,
    other: views.remote,
    otherKeys: views.remoteKeys,
    emit: (from, to, isDir) => {
      const remote = views.remote.get(from) as Entry;
      const state = views.local.get(to) as LocalState;
      result.ops.push({
        kind: 'moveRemote',
        from,
        to,
        entryKind: isDir ? 'dir' : 'file',
        baseRev: remote.rev,
        local: state,
        rule: 'localMoved',
      });
    },
  };
  const remote: Side = {
    gone: views.goneRemote,
    arrived: views.newRemote,
    moved: views.remote,
    movedKeys: views.remoteKeys,
    other: views.local,
    otherKeys: views.localKeys,
    emit: (from, to, isDir) => {
      result.ops.push({
        kind: 'moveLocal',
        from,
        to,
        entryKind: isDir ? 'dir' : 'file',
        expect: views.local.get(from) as LocalState,
        entry: views.remote.get(to) as Entry,
        rule: 'remoteMoved',
      });
    },
  };
  for (const side of [local, remote]) {
    detectFolderMoves(views, side, result);
    detectFileMoves(views, side, result);
  }
  return result;
}

function consume(result: MoveResult, path: string, below: Iterable<string>): void {
  result.consumed.add(path);
  for (const p of below) result.consumed.add(p);
}

function relativeSignature(dir: string, paths: readonly string[], states: ReadonlyMap<string, Content>): string {
  const cut = dir.length + 1;
  const parts: string[] = [];
  for (const p of paths) {
    const s = states.get(p) as Content;
    parts.push(`${p.slice(cut)}\u0000${s.kind}\u0000${s.size}\u0000${s.sha256}`);
  }
  return parts.join('\n');
}

function detectFolderMoves(views: Views, side: Side, result: MoveResult): void {
  // Folders gone on the moved side whose whole subtree is untouched on the other side.
  const gone: { path: string; signature: string; count: number }[] = [];
  const counts = new Set<number>();
  for (const path of side.gone) {
    const base = views.base.get(path) as Content;
    if (base.kind !== 'dir' || views.touchesHeld(path)) continue;
    const other = side.other.get(path);
    if (other === undefined || other.kind !== 'dir' || side.movedKeys.hasBelow(path)) continue;
    const below = views.baseKeys.below(path);
    const untouched = below.every((p) => {
      const o = side.other.get(p);
      return !side.moved.has(p) && o !== undefined && sameContent(o, views.base.get(p) as Content);
    });
    if (!untouched || side.otherKeys.countBelow(path) !== below.length) continue;
    gone.push({ path, signature: relativeSignature(path, below, views.base), count: below.length });
    counts.add(below.length);
  }
  if (gone.length === 0) return;

  // Folders new on the moved side with nothing at or below them anywhere else.
  const arrived = new Map<string, string[]>();
  const arrivedPaths = side.arrived
    .filter((path) => side.moved.get(path)?.kind === 'dir' && !side.other.has(path))
    .sort(comparePaths);
  for (const path of arrivedPaths) {
    if (views.touchesHeld(path) || views.baseKeys.hasBelow(path) || side.otherKeys.hasBelow(path)) continue;
    if (!counts.has(side.movedKeys.countBelow(path))) continue;
    const signature = relativeSignature(path, side.movedKeys.below(path), side.moved);
    const list = arrived.get(signature) ?? [];
    list.push(path);
    arrived.set(signature, list);
  }

  gone.sort((a, b) => comparePaths(a.path, b.path));
  for (const candidate of gone) {
    if (result.consumed.has(candidate.path)) continue;
    const targets = (arrived.get(candidate.signature) ?? []).filter((t) => !result.consumed.has(t));
    const target = targets.find((t) => baseNameOf(t) === baseNameOf(candidate.path)) ?? targets[0];
    if (target === undefined) continue;
    consume(result, candidate.path, views.baseKeys.below(candidate.path));
    consume(result, target, side.movedKeys.below(target));
    result.kept.push(target, ...side.movedKeys.below(target));
    side.emit(candidate.path, target, true);
  }
}

function detectFileMoves(views: Views, side: Side, result: MoveResult): void {
  const gone = new Map<string, string[]>();
  for (const path of side.gone) {
    const base = views.base.get(path) as Content;
    if (base.kind !== 'file' || result.consumed.has(path) || views.isHeld(path)) continue;
    const other = side.other.get(path);
    if (other === undefined || !sameContent(other, base)) continue;
    const key = `${base.size}:${base.sha256}`;
    const list = gone.get(key) ?? [];
    list.push(path);
    gone.set(key, list);
  }
  if (gone.size === 0) return;
  const arrived = new Map<string, string[]>();
  for (const path of side.arrived) {
    const state = side.moved.get(path) as Content;
    if (state.kind !== 'file' || side.other.has(path)) continue;
    if (result.consumed.has(path) || views.isHeld(path)) continue;
    const key = `${state.size}:${state.sha256}`;
    if (!gone.has(key)) continue;
    const list = arrived.get(key) ?? [];
    list.push(path);
    arrived.set(key, list);
  }
  const keys = [...arrived.keys()].sort(comparePaths);
  for (const key of keys) {
    const sources = (gone.get(key) ?? []).sort(comparePaths);
    const targets = (arrived.get(key) ?? []).sort(comparePaths);
    for (const from of sources) {
      if (targets.length === 0) break;
      const sameName = targets.findIndex((t) => baseNameOf(t) === baseNameOf(from));
      const [to] = targets.splice(sameName === -1 ? 0 : sameName, 1);
      if (to === undefined) break;
      result.consumed.add(from);
      result.consumed.add(to);
      result.kept.push(to);
      side.emit(from, to, false);
    }
  }
}
