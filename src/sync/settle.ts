/**
 * Files still being written are uploaded only once their size and mtime have held still
 * (DESIGN.md "Sync semantics"). A file is settled when its mtime is at least `settleMs`
 * old, or when the same size and mtime were seen at least `settleMs` ago (an mtime in the
 * future, from another clock, then still settles).
 */
import type { LocalState } from './types.js';

interface Seen {
  readonly size: number;
  readonly mtimeMs: number;
  readonly since: number;
}

/** Remembers what each file looked like when it was first seen in its current state. */
export class SettleTracker {
  readonly settleMs: number;
  readonly #seen = new Map<string, Seen>();

  constructor(settleMs: number) {
    this.settleMs = Math.max(0, settleMs);
  }

  /** When the file will be settled: `now` or earlier means it is. */
  settledAt(state: LocalState, now: number): number {
    if (state.kind !== 'file' || this.settleMs === 0) return now;
    const seen = this.#seen.get(state.path);
    let since = now;
    if (seen !== undefined && seen.size === state.size && seen.mtimeMs === state.mtimeMs) since = seen.since;
    else this.#seen.set(state.path, { size: state.size, mtimeMs: state.mtimeMs, since: now });
    const at = Math.min(state.mtimeMs + this.settleMs, since + this.settleMs);
    if (at <= now) this.#seen.delete(state.path);
    return at;
  }
}
