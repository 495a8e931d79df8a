/**
 * The three normalised views reconcile works on, indexed for subtree queries, and the
 * content comparison every rule uses.
 */
import type { Entry, EntryKind } from '../protocol/types.js';
import { parentOf, SortedPaths } from './path-tree.js';
import type { BaseState, LocalState } from './types.js';

/** The fields that say what a path holds. */
export interface Content {
  readonly kind: EntryKind;
  readonly size: number;
  readonly sha256: string;
}

/** True when two states hold the same thing: both folders, or files of equal size and hash. */
export function sameContent(a: Content, b: Content): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind === 'dir' || (a.size === b.size && a.sha256 === b.sha256);
}

/** Base, local (by NFC path) and live remote, with sorted keys and the held paths. */
export class Views {
  readonly base: ReadonlyMap<string, BaseState>;
  readonly local: ReadonlyMap<string, LocalState>;
  readonly remote: ReadonlyMap<string, Entry>;
  readonly baseKeys: SortedPaths;
  readonly localKeys: SortedPaths;
  readonly remoteKeys: SortedPaths;
  /** Base paths absent locally, and absent on the server. */
  readonly goneLocal: readonly string[];
  readonly goneRemote: readonly string[];
  /** Local paths with no base record, and server paths with none. */
  readonly newLocal: readonly string[];
  readonly newRemote: readonly string[];
  readonly #held: ReadonlySet<string>;
  /** Every proper ancestor of a held path. */
  readonly #aboveHeld: ReadonlySet<string>;

  constructor(
    base: ReadonlyMap<string, BaseState>,
    local: ReadonlyMap<string, LocalState>,
    remote: ReadonlyMap<string, Entry>,
    held: Iterable<string>,
  ) {
    this.base = base;
    this.local = local;
    this.remote = remote;
    this.baseKeys = new SortedPaths(base.keys());
    this.localKeys = new SortedPaths(local.keys());
    this.remoteKeys = new SortedPaths(remote.keys());
    const goneLocal: string[] = [];
    const goneRemote: string[] = [];
    for (const path of base.keys()) {
      if (!local.has(path)) goneLocal.push(path);
      if (!remote.has(path)) goneRemote.push(path);
    }
    this.goneLocal = goneLocal;
    this.goneRemote = goneRemote;
    this.newLocal = [...local.keys()].filter((path) => !base.has(path));
    this.newRemote = [...remote.keys()].filter((path) => !base.has(path));
    const heldSet = new Set(held);
    const above = new Set<string>();
    for (const path of heldSet) for (let a = parentOf(path); a !== '' && !above.has(a); a = parentOf(a)) above.add(a);
    this.#held = heldSet;
    this.#aboveHeld = above;
  }

  /** True when the path is held (a collision, an unreadable path) or lies below one. */
  isHeld(path: string): boolean {
    if (this.#held.size === 0) return false;
    for (let p = path; p !== ''; p = parentOf(p)) if (this.#held.has(p)) return true;
    return false;
  }

  /** True when the path is held or anything held lies below it. */
  touchesHeld(path: string): boolean {
    return this.#aboveHeld.has(path) || this.isHeld(path);
  }
}
