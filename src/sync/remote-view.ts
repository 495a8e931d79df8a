/**
 * The server's view of one remote folder, kept current from the change feed: every live
 * entry by sync path and the cursor (the revision it is current to). reconcile needs the
 * complete view, so it is kept in the state folder and only the changes since the cursor
 * are fetched. It is written atomically with its cursor, so a crash leaves an older but
 * consistent view, which the feed brings up to date again.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { errnoCode, FosError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { Listing } from '../client/index.js';
import type { Entry } from '../protocol/types.js';
import { relativeTo } from './path-tree.js';

/** True for an entry as `save` writes it (checked by hand: zod costs seconds on 100,000 entries). */
function isEntry(value: unknown): value is Entry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e['path'] === 'string' &&
    (e['kind'] === 'file' || e['kind'] === 'dir') &&
    typeof e['size'] === 'number' &&
    typeof e['mtimeMs'] === 'number' &&
    typeof e['sha256'] === 'string' &&
    typeof e['rev'] === 'number' &&
    typeof e['deleted'] === 'boolean'
  );
}

const fileSchema = z.object({
  version: z.literal(1),
  remoteRoot: z.string(),
  cursor: z.number(),
  entries: z.array(z.unknown()),
  // Optional only for files written before tombstones were kept; those are rebuilt.
  tombstones: z.array(z.tuple([z.string(), z.number()])).optional(),
  // The server's history mark the cursor belongs to; absent in older files and from older servers.
  history: z.string().optional(),
});

/** The remote view of a folder pair. */
export class RemoteView {
  readonly file: string;
  readonly remoteRoot: string;
  readonly #entries = new Map<string, Entry>();
  readonly #tombstones = new Map<string, number>();
  #cursor = 0;
  #history: string | null = null;
  #dirty = false;
  /** Saved and dropped from memory while the agent is idle (`release`); `ensureLoaded` reads it back. */
  #released = false;

  /**
   * Every live entry by sync path.
   * @throws FosError `FOS_ERR_SYNC_MANIFEST` while the view is released: an empty view
   * would read as "everything was deleted on the server", so it is never handed out.
   */
  get entries(): Map<string, Entry> {
    this.#throwIfReleased();
    return this.#entries;
  }

  /**
   * The revision at which each deleted path was deleted, by sync path (issue 11: a held or
   * approved local deletion is named by its tombstone). Only paths the manifest still
   * knows are kept (`pruneTombstones`), so this stays as small as the pending deletions.
   * @throws FosError `FOS_ERR_SYNC_MANIFEST` while the view is released.
   */
  get tombstones(): Map<string, number> {
    this.#throwIfReleased();
    return this.#tombstones;
  }

  /** True while the entries are on disk only. */
  get isReleased(): boolean {
    return this.#released;
  }

  /**
   * Drops the entries from memory when they are saved (issue 8, M1: an idle agent over
   * 100,000 files kept the whole listing). The cursor stays. Returns whether it did.
   */
  release(): boolean {
    if (this.#dirty || this.#released) return false;
    this.#entries.clear();
    this.#tombstones.clear();
    this.#released = true;
    return true;
  }

  /**
   * Reads the entries back after `release`. A file that is gone or no longer matches gives
   * an empty view at cursor 0, which the full change feed rebuilds (safe, only slower).
   */
  async ensureLoaded(): Promise<void> {
    if (!this.#released) return;
    const saved = await RemoteView.load(this.file, this.remoteRoot);
    this.#released = false;
    if (saved.cursor !== this.#cursor) {
      this.reset();
      return;
    }
    for (const [path, entry] of saved.#entries) this.#entries.set(path, entry);
    for (const [path, rev] of saved.#tombstones) this.#tombstones.set(path, rev);
  }

  #throwIfReleased(): void {
    if (this.#released) throw new FosError('FOS_ERR_SYNC_MANIFEST', `the remote view ${this.file} is not loaded (call ensureLoaded first)`);
  }

  constructor(file: string, remoteRoot: string) {
    this.file = file;
    this.remoteRoot = remoteRoot;
  }

  /**
   * Loads the saved view; a missing, unreadable or foreign file gives an empty view at
   * cursor 0, which the full change feed rebuilds (safe, only slower).
   */
  static async load(file: string, remoteRoot: string): Promise<RemoteView> {
    const view = new RemoteView(file, remoteRoot);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return view;
      return view;
    }
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      // A view without tombstones (an older file) is rebuilt from the whole feed, which
      // reports every deletion with its revision.
      if (!parsed.success || parsed.data.remoteRoot !== remoteRoot || parsed.data.tombstones === undefined) return view;
      if (!parsed.data.entries.every(isEntry)) return view;
      for (const entry of parsed.data.entries) if (isEntry(entry)) view.#entries.set(entry.path, entry);
      for (const [path, rev] of parsed.data.tombstones) view.#tombstones.set(path, rev);
      view.#cursor = parsed.data.cursor;
      view.#history = parsed.data.history ?? null;
    } catch {
      // Torn or hand-edited file: start from cursor 0; the feed rebuilds the view.
      view.#entries.clear();
      view.#tombstones.clear();
    }
    return view;
  }

  /** The revision the view is current to: the `since` of the next feed request. */
  get cursor(): number {
    return this.#cursor;
  }

  /**
   * True when `listing` comes from another history than the cursor (the server's store was
   * found behind its disk since): the revisions after it may have been reused.
   */
  isOtherHistory(listing: Listing): boolean {
    return this.#history !== null && listing.history !== undefined && listing.history !== this.#history;
  }

  /** True when the view changed since it was last saved. */
  get isDirty(): boolean {
    return this.#dirty;
  }

  /** The server path of the folder, for `changesSince`. */
  get feedPath(): string | undefined {
    return this.remoteRoot === '' ? undefined : this.remoteRoot;
  }

  /** Applies a change feed page; returns the sync paths it touched. */
  apply(listing: Listing): string[] {
    this.#throwIfReleased();
    const touched: string[] = [];
    const ordered = [...listing.entries].sort((a, b) => a.rev - b.rev);
    for (const entry of ordered) {
      const path = this.#syncPath(entry.path);
      if (path === null) continue;
      touched.push(path);
      if (entry.deleted) {
        this.#entries.delete(path);
        this.#tombstones.set(path, entry.rev);
      } else {
        this.#entries.set(path, { ...entry, path });
        this.#tombstones.delete(path);
      }
    }
    if (listing.rev !== this.#cursor || touched.length > 0) this.#dirty = true;
    this.#cursor = Math.max(this.#cursor, listing.rev);
    if (listing.history !== undefined && listing.history !== this.#history) {
      this.#history = listing.history;
      this.#dirty = true;
    }
    return touched;
  }

  /**
   * Forgets everything: the next feed request starts from revision 0 and rebuilds the view.
   * For a server whose history went back (issue 9: a database restored or copied from a
   * crash), where revisions after its current one mean nothing any more.
   */
  reset(): void {
    this.#entries.clear();
    this.#tombstones.clear();
    this.#released = false;
    this.#cursor = 0;
    this.#history = null;
    this.#dirty = true;
  }

  /** Forgets the tombstones of paths `isKnown` does not name (those nobody can still delete). */
  pruneTombstones(isKnown: (path: string) => boolean): void {
    for (const path of this.tombstones.keys()) {
      if (isKnown(path)) continue;
      this.#tombstones.delete(path);
      this.#dirty = true;
    }
  }

  /** Writes the view atomically. @throws FosError when the state folder cannot be written. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const body = {
      version: 1,
      remoteRoot: this.remoteRoot,
      cursor: this.#cursor,
      ...(this.#history === null ? {} : { history: this.#history }),
      entries: [...this.#entries.values()],
      tombstones: [...this.#tombstones],
    };
    this.#dirty = false;
    try {
      await writeFileAtomic(this.file, JSON.stringify(body));
    } catch (err) {
      this.#dirty = true;
      throw err;
    }
  }

  #syncPath(remotePath: string): string | null {
    return relativeTo(this.remoteRoot, remotePath);
  }
}
