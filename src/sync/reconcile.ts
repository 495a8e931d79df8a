/**
 * reconcile: base (the manifest), local (the scan) and remote (the server's view) in, a
 * Plan out. Pure: no I/O, no clock; `now` and `device` only name conflict copies.
 *
 * Stages: normalise the three views (NFC, ignore rules, tombstones out, local name
 * collisions held), find moves, decide every other path, hold case collisions, apply the
 * mass-delete guard, then order. The rule table is in decide.ts and in the tests.
 */
import type { Entry } from '../protocol/types.js';
import { decidePaths } from './decide.js';
import { detectMoves } from './moves.js';
import { countBytes, countOps, isFileDeletion, opPaths, orderOps } from './order.js';
import { ancestorsOf, comparePaths, foldKey, isAtOrUnder, toNfc } from './path-tree.js';
import type { BaseState, DeletionOp, Guard, GuardKind, LocalState, Op, Plan, Problem, ReconcileInput } from './types.js';
import { Views } from './views.js';

/**
 * Defaults of the reconcile options (DESIGN.md: a pass deleting > 50 % stops; issue 11:
 * also more than 1000 files or 10 GiB).
 */
export const RECONCILE_DEFAULTS = Object.freeze({
  maxDeleteShare: 0.5,
  minGuardDeletions: 1,
  maxDeleteFiles: 1000,
  maxDeleteBytes: 10 * 1024 ** 3,
  force: false,
  caseInsensitive: false,
  maxConflictCopies: 10,
});

/** Computes the plan that brings local and remote to the same tree. Never throws. */
export function reconcile(input: ReconcileInput): Plan {
  const options = { ...RECONCILE_DEFAULTS, ...input.options };
  const isIgnored = input.isIgnored ?? ((): boolean => false);

  let base: ReadonlyMap<string, BaseState> = input.base;
  if (input.isIgnored !== undefined) {
    const kept = new Map<string, BaseState>();
    for (const [path, state] of input.base) if (!isIgnored(path, state.kind === 'dir')) kept.set(path, state);
    base = kept;
  }
  const remote = new Map<string, Entry>();
  for (const entry of input.remote.values()) {
    if (!entry.deleted && !isIgnored(entry.path, entry.kind === 'dir')) remote.set(entry.path, entry);
  }
  const { local, held, problems } = indexLocal(input.local.values(), options.caseInsensitive, isIgnored);
  for (const path of input.held ?? []) held.push(toNfc(path));

  const views = new Views(base, local, remote, held);
  const moves = detectMoves(views);
  const decided = decidePaths({
    views,
    skip: (path) => moves.consumed.has(path) || views.isHeld(path),
    kept: [...moves.kept, ...held],
    device: input.device,
    now: input.now,
    caseInsensitive: options.caseInsensitive,
    maxConflictCopies: options.maxConflictCopies,
  });
  problems.push(...decided.problems);

  let ops: Op[] = [...moves.ops, ...decided.ops];
  if (options.caseInsensitive) {
    const collisions = caseCollisions(decided.kept, (path) => views.isHeld(path));
    problems.push(...collisions);
    const blocked = collisions.flatMap((c) => c.paths);
    if (blocked.length > 0) ops = ops.filter((op) => !opPaths(op).some((p) => blocked.some((b) => isAtOrUnder(p, b))));
  }

  const deletions = ops.filter(isFileDeletion).length;
  const isExempt = input.isExempt ?? ((): boolean => false);
  // A redundant conflict copy going away is no sign of a folder gone wrong, nor is a
  // deletion a person approved: the guard counts, and holds, every other deletion.
  const guarded = ops.filter((op): op is DeletionOp => isDeletion(op) && op.rule !== 'duplicateCopy' && !isExempt(op));
  let counted = 0;
  let bytes = 0;
  for (const op of guarded) {
    if (!isFileDeletion(op)) continue;
    counted += 1;
    bytes += op.kind === 'deleteLocal' ? op.expect.size : (views.remote.get(op.path)?.size ?? 0);
  }
  let total = 0;
  for (const state of base.values()) if (state.kind === 'file') total++;
  const guardKind = tripGuard(input.localRoot ?? 'present', {
    deletions: counted,
    bytes,
    total,
    localCount: local.size + held.length,
    remoteDeletions: ops.some((op) => op.kind === 'deleteRemote'),
    maxDeleteShare: options.maxDeleteShare,
    minGuardDeletions: options.minGuardDeletions,
    maxDeleteFiles: options.maxDeleteFiles,
    maxDeleteBytes: options.maxDeleteBytes,
  });
  const guard: Guard | null = guardKind === null ? null : { kind: guardKind, deletions: counted, total, bytes, blocked: !options.force };
  let heldBack: DeletionOp[] = [];
  if (guard?.blocked === true) {
    // A mass delete holds back what it counted (the pass records it as a held batch); a
    // root guard takes every deletion out and holds nothing: the folder itself is suspect.
    heldBack = guard.kind === 'massDelete' ? [...guarded] : [];
    ops = withoutDeletions(ops, guard.kind, guard.kind === 'massDelete' ? guarded : ops.filter(isDeletion));
  } else if (!options.force && input.isPending !== undefined) {
    // Deletions already waiting for a person keep waiting, even when this plan is within
    // the limits: a batch shown as held must not go ahead on its own.
    const isPending = input.isPending;
    heldBack = guarded.filter((op) => isPending(op));
    ops = withoutDeletions(ops, 'massDelete', heldBack);
  }

  const ordered = orderOps(ops);
  problems.sort((a, b) => comparePaths(a.path, b.path));
  return { ops: ordered, summary: countOps(ordered), bytes: countBytes(ordered), deletions, guard, held: heldBack.sort((a, b) => comparePaths(a.path, b.path)), problems };
}

function isDeletion(op: Op): op is DeletionOp {
  return op.kind === 'deleteRemote' || op.kind === 'deleteLocal';
}

interface LocalIndex {
  readonly local: Map<string, LocalState>;
  readonly held: string[];
  readonly problems: Problem[];
}

/** Keys local states by NFC path; names that are one name on disk are held, not synced. */
function indexLocal(
  states: Iterable<LocalState>,
  caseInsensitive: boolean,
  isIgnored: (path: string, isDir: boolean) => boolean,
): LocalIndex {
  const first = new Map<string, LocalState>();
  const clashes = new Map<string, LocalState[]>();
  for (const state of states) {
    const path = toNfc(state.path);
    if (isIgnored(path, state.kind === 'dir')) continue;
    const normalised = path === state.path ? state : { ...state, path };
    const key = foldKey(path, caseInsensitive);
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, normalised);
    else clashes.set(key, [...(clashes.get(key) ?? [earlier]), normalised]);
  }
  const local = new Map<string, LocalState>();
  const held: string[] = [];
  const problems: Problem[] = [];
  for (const [key, state] of first) if (!clashes.has(key)) local.set(state.path, state);
  const collided = [...clashes.values()];
  collided.sort((x, y) => comparePaths((x[0] as LocalState).path, (y[0] as LocalState).path));
  for (const group of collided) {
    const paths = [...new Set(group.map((s) => s.path))].sort(comparePaths);
    const alreadyHeld = paths.every((p) => held.some((h) => isAtOrUnder(p, h)));
    held.push(...paths);
    if (!alreadyHeld) {
      problems.push({
        code: 'nameCollision',
        path: paths[0] as string,
        paths: group.map((s) => s.diskPath).sort(comparePaths),
      });
    }
  }
  return { local, held, problems };
}

/** Groups of present-after-the-plan paths that one case-insensitive folder cannot hold. */
function caseCollisions(
  kept: ReadonlySet<string>,
  isHeld: (path: string) => boolean,
): Extract<Problem, { code: 'caseCollision' }>[] {
  const groups = new Map<string, string[]>();
  for (const path of kept) {
    if (isHeld(path)) continue;
    const key = foldKey(path, true);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [path]);
    else group.push(path);
  }
  const out: Extract<Problem, { code: 'caseCollision' }>[] = [];
  for (const key of [...groups.keys()].sort(comparePaths)) {
    const paths = (groups.get(key) as string[]).sort(comparePaths);
    if (paths.length < 2) continue;
    // A collision of folders shows again for every child; report the folders only.
    if (paths.every((p) => out.some((c) => c.paths.some((cp) => isAtOrUnder(p, cp))))) continue;
    out.push({ code: 'caseCollision', path: paths[0] as string, paths });
  }
  return out;
}

interface GuardFacts {
  readonly deletions: number;
  readonly bytes: number;
  readonly total: number;
  readonly localCount: number;
  readonly remoteDeletions: boolean;
  readonly maxDeleteShare: number;
  readonly minGuardDeletions: number;
  readonly maxDeleteFiles: number;
  readonly maxDeleteBytes: number;
}

function tripGuard(root: 'present' | 'missing' | 'replaced', facts: GuardFacts): GuardKind | null {
  if (root === 'missing') return 'rootMissing';
  if (root === 'replaced') return 'rootReplaced';
  if (facts.total > 0 && facts.localCount === 0 && facts.remoteDeletions) return 'rootEmpty';
  if (facts.deletions === 0) return null;
  const share = facts.deletions >= facts.minGuardDeletions && facts.deletions > facts.maxDeleteShare * facts.total;
  if (share || facts.deletions > facts.maxDeleteFiles || facts.bytes > facts.maxDeleteBytes) return 'massDelete';
  return null;
}

/**
 * A blocked guard: none of `removed`, and nothing that needs one of them (a folder
 * replacing a deleted file, say). A missing or replaced root allows nothing at all.
 */
function withoutDeletions(ops: readonly Op[], kind: GuardKind, removed: readonly DeletionOp[]): Op[] {
  if (kind === 'rootMissing' || kind === 'rootReplaced') return [];
  if (removed.length === 0) return [...ops];
  const out = new Set<Op>(removed);
  const deletedSet = new Set(removed.map((op) => op.path));
  return ops.filter((op) => {
    if (out.has(op)) return false;
    return !opPaths(op).some((p) => deletedSet.has(p) || ancestorsOf(p).some((a) => deletedSet.has(a)));
  });
}
