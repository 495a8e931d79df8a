/**
 * The per-path rules of reconcile: for each path, from its base, local and remote state,
 * the operations that bring both sides to the same state without losing a version. Paths
 * are decided children first, so a folder knows whether anything inside it survives. Pure.
 */
import type { Entry } from '../protocol/types.js';
import { conflictCopyPath, parseConflictCopy } from './conflict-name.js';
import { comparePaths, foldKey, parentOf, sortPaths } from './path-tree.js';
import type { BaseState, LocalState, Op, Problem, Rule } from './types.js';
import { sameContent } from './views.js';
import type { Views } from './views.js';

/** What the per-path pass needs beyond the views. */
export interface DecideContext {
  readonly views: Views;
  /** Paths already accounted for (moves, collisions). */
  readonly skip: (path: string) => boolean;
  /** Paths present after the plan from earlier stages (move targets, held paths). */
  readonly kept: Iterable<string>;
  readonly device: string;
  readonly now: number;
  readonly caseInsensitive: boolean;
  readonly maxConflictCopies: number;
}

/** Operations and problems of the per-path pass, plus every path present afterwards. */
export interface DecideResult {
  readonly ops: Op[];
  readonly problems: Problem[];
  readonly kept: Set<string>;
}

/** The manifest record for two sides that agree. Folder records carry no size or time. */
export function agreedBase(local: LocalState, remote: Entry): BaseState {
  return local.kind === 'dir'
    ? { kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev: remote.rev }
    : { kind: 'file', size: local.size, mtimeMs: local.mtimeMs, sha256: local.sha256, rev: remote.rev };
}

function sameBase(a: BaseState, b: BaseState): boolean {
  return a.kind === b.kind && a.size === b.size && a.mtimeMs === b.mtimeMs && a.sha256 === b.sha256 && a.rev === b.rev;
}

/** Runs the per-path rules over every path not skipped. */
export function decidePaths(ctx: DecideContext): DecideResult {
  return new Decider(ctx).run();
}

class Decider {
  readonly #ctx: DecideContext;
  readonly #views: Views;
  readonly #ops: Op[] = [];
  readonly #problems: Problem[] = [];
  readonly #kept = new Set<string>();
  readonly #keptBelow = new Set<string>();
  #names: Set<string> | null = null;
  #copies: Map<string, string[]> | null = null;

  constructor(ctx: DecideContext) {
    this.#ctx = ctx;
    this.#views = ctx.views;
  }

  run(): DecideResult {
    for (const path of this.#ctx.kept) this.#keep(path);
    const { base, local, remote } = this.#views;
    const paths = [...base.keys(), ...this.#views.newLocal];
    for (const path of this.#views.newRemote) if (!local.has(path)) paths.push(path);
    // Reverse order puts every child before its parent.
    const ordered = sortPaths(paths).reverse();
    for (const path of ordered) {
      if (this.#ctx.skip(path)) continue;
      this.#decide(path, base.get(path), local.get(path), remote.get(path));
    }
    return { ops: this.#ops, problems: this.#problems, kept: this.#kept };
  }

  #keep(path: string): void {
    this.#kept.add(path);
    for (let a = parentOf(path); a !== '' && !this.#keptBelow.has(a); a = parentOf(a)) this.#keptBelow.add(a);
  }

  #emit(op: Op, keep: boolean): void {
    this.#ops.push(op);
    if (!keep) return;
    this.#keep(op.kind === 'moveRemote' || op.kind === 'moveLocal' ? op.to : op.path);
    if (op.kind === 'conflict') this.#keep(op.copyPath);
  }

  #decide(path: string, b: BaseState | undefined, l: LocalState | undefined, r: Entry | undefined): void {
    const localChanged = b === undefined ? l !== undefined : l === undefined || !sameContent(l, b);
    const remoteChanged = b === undefined ? r !== undefined : r === undefined || !sameContent(r, b);
    if (!localChanged && !remoteChanged) {
      if (l === undefined || r === undefined || b === undefined) return;
      if (l.kind === 'file' && r.kind === 'file' && this.#isRedundantCopy(path, l)) {
        // Several devices made a copy of the same conflict at once (issue 11: one copy per
        // conflict): the copy that sorts first stays, the others go to the trash.
        this.#emit({ kind: 'deleteRemote', path, entryKind: 'file', baseRev: r.rev, rule: 'duplicateCopy' }, false);
        this.#emit({ kind: 'deleteLocal', path, expect: l, rule: 'duplicateCopy' }, false);
        return;
      }
      this.#keep(path);
      const inSync = r.rev === b.rev && (b.kind === 'dir' || l.mtimeMs === b.mtimeMs);
      if (inSync) return;
      const state = agreedBase(l, r);
      if (!sameBase(state, b)) this.#emit({ kind: 'updateBase', path, state, rule: 'metadataOnly' }, true);
      return;
    }
    if (localChanged && !remoteChanged) this.#pushLocal(path, b, l, r);
    else if (!localChanged) this.#pullRemote(path, b, l, r);
    else this.#bothChanged(path, b, l, r);
  }

  /** Local changed, remote as in the base (or absent on both when there is no base). */
  #pushLocal(path: string, b: BaseState | undefined, l: LocalState | undefined, r: Entry | undefined): void {
    if (l === undefined) {
      if (b === undefined || r === undefined) return;
      if (r.kind === 'dir' && this.#keptBelow.has(path)) {
        this.#emit({ kind: 'mkdirLocal', path, entry: r, rule: 'keptForChildren' }, true);
      } else {
        this.#emit({ kind: 'deleteRemote', path, entryKind: r.kind, baseRev: r.rev, rule: 'localDeleted' }, false);
      }
      return;
    }
    const rule: Rule = b === undefined ? 'localNew' : 'localChanged';
    if (r !== undefined && r.kind !== l.kind) {
      if (r.kind === 'dir' && this.#keptBelow.has(path)) {
        this.#conflict(path, 'local', l, r, 'kindMismatch');
        return;
      }
      this.#emit({ kind: 'deleteRemote', path, entryKind: r.kind, baseRev: r.rev, rule }, false);
      this.#create(path, l, null, rule);
      return;
    }
    this.#create(path, l, r === undefined ? null : r.rev, rule);
  }

  /** Remote changed, local as in the base (or absent on both when there is no base). */
  #pullRemote(path: string, b: BaseState | undefined, l: LocalState | undefined, r: Entry | undefined): void {
    if (r === undefined) {
      if (b === undefined || l === undefined) return;
      if (l.kind === 'dir' && this.#keptBelow.has(path)) {
        this.#emit({ kind: 'mkdirRemote', path, rule: 'keptForChildren' }, true);
      } else {
        const rule: Rule = l.kind === 'file' && this.#isRedundantCopy(path, l) ? 'duplicateCopy' : 'remoteDeleted';
        this.#emit({ kind: 'deleteLocal', path, expect: l, rule }, false);
      }
      return;
    }
    const rule: Rule = b === undefined ? 'remoteNew' : 'remoteChanged';
    if (l !== undefined && l.kind !== r.kind) {
      if (l.kind === 'dir' && this.#keptBelow.has(path)) {
        this.#conflict(path, 'remote', l, r, 'kindMismatch');
        return;
      }
      this.#emit({ kind: 'deleteLocal', path, expect: l, rule }, false);
      this.#fetch(path, r, null, rule);
      return;
    }
    this.#fetch(path, r, l ?? null, rule);
  }

  #bothChanged(path: string, b: BaseState | undefined, l: LocalState | undefined, r: Entry | undefined): void {
    if (l === undefined && r === undefined) {
      if (b !== undefined) this.#emit({ kind: 'dropBase', path, rule: 'bothDeleted' }, false);
      return;
    }
    if (l === undefined) {
      this.#fetch(path, r as Entry, null, 'localDeletedRemoteChanged');
      return;
    }
    if (r === undefined) {
      this.#create(path, l, null, 'remoteDeletedLocalChanged');
      return;
    }
    if (sameContent(l, r)) {
      const state = agreedBase(l, r);
      this.#emit({ kind: 'updateBase', path, state, rule: 'sameContent' }, true);
      return;
    }
    if (l.kind !== r.kind) {
      this.#conflict(path, l.kind === 'file' ? 'local' : 'remote', l, r, 'kindMismatch');
      return;
    }
    this.#conflict(path, 'local', l, r, b === undefined ? 'bothNew' : 'bothChanged');
  }

  /** Brings a local state to the server: upload a file, create a folder. */
  #create(path: string, l: LocalState, baseRev: number | null, rule: Rule): void {
    if (l.kind === 'dir') this.#emit({ kind: 'mkdirRemote', path, rule }, true);
    else this.#emit({ kind: 'upload', path, baseRev, local: l, rule }, true);
  }

  /** Brings a remote state here: download a file, create a folder. */
  #fetch(path: string, r: Entry, expectLocal: LocalState | null, rule: Rule): void {
    if (r.kind === 'dir') this.#emit({ kind: 'mkdirLocal', path, entry: r, rule }, true);
    else this.#emit({ kind: 'download', path, entry: r, expectLocal, rule }, true);
  }

  #conflict(path: string, loser: 'local' | 'remote', l: LocalState, r: Entry, rule: Rule): void {
    const copies = this.#copiesOf(path);
    if (loser === 'local' && l.kind === 'file' && r.kind === 'file') {
      // DESIGN.md / issue 11: one conflict copy per real conflict. The losing content is
      // already kept under a copy that this pass will not delete: just take the server's.
      if (copies.some((c) => this.#holdsForGood(c, l))) {
        this.#emit({ kind: 'download', path, entry: r, expectLocal: l, rule: 'conflictAlreadyCopied' }, true);
        return;
      }
    }
    if (copies.length >= this.#ctx.maxConflictCopies) {
      this.#problems.push({ code: 'conflictCap', path, copies: copies.length });
      this.#keep(path);
      return;
    }
    const copyPath = this.#allocateCopy(path);
    this.#emit({ kind: 'conflict', path, copyPath, loser, local: l, remote: r, rule }, true);
  }

  /** True when `copy` holds `content` and this plan keeps it on both sides. */
  #holdsForGood(copy: string, content: LocalState): boolean {
    const { base, local, remote } = this.#views;
    const l = local.get(copy);
    const r = remote.get(copy);
    const lHolds = l !== undefined && sameContent(l, content);
    const rHolds = r !== undefined && sameContent(r, content);
    if (lHolds && rHolds) return true;
    if (base.has(copy)) return false;
    return (lHolds && r === undefined) || (rHolds && l === undefined);
  }

  /**
   * True when `path` is a conflict copy holding `content` and another copy of the same
   * original that sorts before it holds the same content on both sides and in the base:
   * that one keeps the version, so this one is redundant. The first such copy is never
   * redundant itself, so the version always stays somewhere.
   */
  #isRedundantCopy(path: string, content: LocalState): boolean {
    if (parseConflictCopy(path) === null) return false;
    const { base, local, remote } = this.#views;
    return this.#copiesOf(path).some((copy) => {
      if (comparePaths(copy, path) >= 0 || this.#ctx.skip(copy)) return false;
      const [b, l, r] = [base.get(copy), local.get(copy), remote.get(copy)];
      return b !== undefined && l !== undefined && r !== undefined && [b, l, r].every((state) => state.kind === 'file' && sameContent(state, content));
    });
  }

  /** Existing conflict copies of a path's original name, in either view. */
  #copiesOf(path: string): string[] {
    if (this.#copies === null) {
      this.#copies = new Map();
      const { local, remote } = this.#views;
      for (const p of new Set([...local.keys(), ...remote.keys()])) {
        const parsed = parseConflictCopy(p);
        if (parsed === null) continue;
        const list = this.#copies.get(parsed.original) ?? [];
        list.push(p);
        this.#copies.set(parsed.original, list);
      }
    }
    const original = parseConflictCopy(path)?.original ?? path;
    return (this.#copies.get(original) ?? []).filter((c) => c !== path).sort(comparePaths);
  }

  #allocateCopy(path: string): string {
    const fold = (p: string): string => foldKey(p, this.#ctx.caseInsensitive);
    if (this.#names === null) {
      const { base, local, remote } = this.#views;
      this.#names = new Set();
      for (const p of [...base.keys(), ...local.keys(), ...remote.keys()]) this.#names.add(fold(p));
    }
    for (let counter = 1; ; counter++) {
      const candidate = conflictCopyPath(path, this.#ctx.device, this.#ctx.now, counter);
      if (!this.#names.has(fold(candidate))) {
        this.#names.add(fold(candidate));
        return candidate;
      }
    }
  }
}
