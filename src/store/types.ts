/**
 * The server's metadata store seam: accounts, device tokens, file entries with a revision
 * counter per user, and trash records. SQLite is the embedded default; PostgreSQL
 * implements the same interface for several server nodes. The protocol code only ever
 * sees this interface.
 */
import type { Account, BatchState, DeletionBatch, DeletionItem, DeletionSide, Entry, EntryKind, TokenInfo } from '../protocol/types.js';

/** An account with its bcrypt hash: only the server's auth code reads the hash. */
export interface UserRecord extends Account {
  readonly passwordHash: string;
}

/** A device token as stored: the secret only as its SHA-256. */
export interface TokenRecord extends TokenInfo {
  readonly tokenHash: string;
}

/** One change to commit: the new state of a path (a deletion when `deleted`). */
export interface Change {
  readonly path: string;
  readonly kind: EntryKind;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  readonly deleted: boolean;
}

/** A live entry with the time of the commit that made it current. */
export interface CommittedEntry extends Entry {
  /** When the commit that made this version current ran, ms since the epoch. */
  readonly committedAt: number;
}

/** A version kept in `<data>/trash/<user>/` after it was overwritten, deleted or moved away. */
export interface TrashRecord {
  readonly id: string;
  readonly user: string;
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  /** The revision the version had while it was current. */
  readonly rev: number;
  /** When the version became current (its commit time), ms since the epoch. */
  readonly validFrom: number;
  /** When it stopped being current (overwritten or deleted), ms since the epoch. */
  readonly trashedAt: number;
  /** The file's location relative to `<data>/trash/`. */
  readonly storedAs: string;
}

/** Listing options for live entries. */
export interface ListOptions {
  /** Folder to list ('' for the root). */
  readonly prefix: string;
  /** Whole subtree when true, direct children only when false. */
  readonly recursive: boolean;
}

/** Bytes and files a user holds (live entries only). */
export interface Usage {
  readonly bytes: number;
  readonly files: number;
}

/** Fields of an account that can be changed after creation. */
export interface AccountPatch {
  readonly passwordHash?: string;
  readonly quotaBytes?: number | null;
  readonly quotaFiles?: number | null;
}

/** Which held batches `listDeletionBatches` returns; every given field must match. */
export interface BatchFilter {
  /** Any of these states (all states when absent). */
  readonly states?: readonly BatchState[];
  readonly device?: string;
  /** This folder exactly. */
  readonly folder?: string;
  readonly side?: DeletionSide;
}

/** How a held batch is decided. */
export interface BatchResolution {
  readonly state: Exclude<BatchState, 'held'>;
  readonly resolvedAt: number;
  /** Approved `remote` batches: the revision of the commit that deleted the items. */
  readonly commitRev?: number | null;
}

/**
 * The metadata store. Every method is async so that a networked store fits the same shape.
 * Methods throw FosError (`FOS_ERR_STORE_*`) on failure, never driver errors.
 */
export interface Store {
  /** Applies schema migrations; idempotent. */
  migrate(): Promise<void>;

  createUser(name: string, passwordHash: string, now: number): Promise<void>;
  getUser(name: string): Promise<UserRecord | null>;
  updateUser(name: string, patch: AccountPatch): Promise<void>;
  /** Removes the account, its tokens and its metadata; files on disk are the caller's. */
  removeUser(name: string): Promise<void>;
  listUsers(): Promise<Account[]>;

  createToken(record: TokenRecord): Promise<void>;
  findToken(tokenHash: string): Promise<TokenRecord | null>;
  touchToken(id: string, at: number): Promise<void>;
  listTokens(user: string): Promise<TokenInfo[]>;
  /** Returns false when no such token of that user existed. */
  revokeToken(user: string, id: string): Promise<boolean>;

  /** The entry at `path`, live or a tombstone, or null if the path never existed. */
  getEntry(user: string, path: string): Promise<Entry | null>;
  /**
   * Live entries strictly under a folder (never the folder itself), ordered by path in UTF-8
   * byte order. Segment-aware: folder `a` never lists `ab/...`. A file or a missing folder
   * lists nothing.
   */
  listEntries(user: string, options: ListOptions): Promise<Entry[]>;
  /**
   * Live entries at `path` itself and below it ('' for all), each with the time of the
   * commit that made it current, ordered by path in UTF-8 byte order. Segment-aware like
   * `listEntries`: `a` never lists `ab/...`. What a restore compares against, and where a
   * version's `validFrom` comes from when it goes to the trash.
   */
  listCommitted(user: string, path: string): Promise<CommittedEntry[]>;
  /**
   * Every entry (tombstones included) whose revision is greater than `sinceRev`, ordered by
   * rev then path. A path changed several times appears once, at its latest revision.
   */
  changesSince(user: string, sinceRev: number): Promise<Entry[]>;
  /** The user's current revision counter (0 before the first change). */
  currentRev(user: string): Promise<number>;
  /** Bytes and count of live files (folders and tombstones do not count). */
  usage(user: string): Promise<Usage>;
  /**
   * Commits changes in one transaction under one new revision and returns the new entries,
   * in input order. Tombstones are kept so that the change feed reports deletions; deleting
   * a folder does not delete its children (commit those too). An empty batch is a no-op
   * (no new revision). The whole batch is checked first (`checkChanges`: canonical paths,
   * no path twice, sane sizes and hashes) and refused whole with `FOS_ERR_PATH_BAD` or
   * `FOS_ERR_STORE_WRITE`; an unknown user is `FOS_ERR_STORE_NO_USER`.
   */
  commit(user: string, changes: readonly Change[], now: number): Promise<Entry[]>;
  /**
   * Runs `fn` while holding the user's write lock. Check-then-commit sequences (base
   * revision checks, renames into place) run inside it, so no update is lost, including
   * across server nodes sharing one store. Not reentrant: taking the same user's lock
   * again inside `fn` deadlocks.
   */
  withUserLock<T>(user: string, fn: () => Promise<T>): Promise<T>;

  addTrash(record: TrashRecord): Promise<void>;
  /**
   * Trash records of `pathPrefix` itself and of everything under it ('' for all), ordered by
   * path, then trashedAt, then id.
   */
  listTrash(user: string, pathPrefix: string): Promise<TrashRecord[]>;
  /**
   * Trash records of `path` itself and below it ('' for all) whose version was current at
   * time `at`: `validFrom <= at < trashedAt`. Ordered by path, then trashedAt, then id.
   */
  listTrashAt(user: string, path: string, at: number): Promise<TrashRecord[]>;
  /**
   * Removes trash records of every user with `trashedAt < before` and returns them, oldest
   * first, so their files can go.
   */
  purgeTrash(before: number): Promise<TrashRecord[]>;

  /**
   * Records a held batch with its items (each path once), or, for deletions the server
   * already carried out (a restore's), a batch born `approved` on the `remote` side with
   * its commit's revision, which devices then treat as approved. With `replaces`, the pending batch
   * of that id becomes `superseded` with this batch as its successor, in the same
   * transaction. At most one batch per (user, device, folder, side) is `held` at a time.
   * @throws FosError `FOS_ERR_STORE_NO_USER`; `FOS_ERR_STORE_CONFLICT` when `replaces` is
   * no longer held, or another batch of the same device, folder and side is;
   * `FOS_ERR_STORE_WRITE` for a duplicate id or path.
   */
  addDeletionBatch(user: string, batch: DeletionBatch, items: readonly DeletionItem[], replaces: string | null): Promise<void>;
  /** A batch of the user by id, or null. */
  getDeletionBatch(user: string, id: string): Promise<DeletionBatch | null>;
  /** The user's batches that match `filter`, oldest first (then by id). */
  listDeletionBatches(user: string, filter: BatchFilter): Promise<DeletionBatch[]>;
  /** A batch's items ordered by path in UTF-8 byte order; the first `limit` when given. */
  listDeletionItems(user: string, id: string, limit?: number): Promise<DeletionItem[]>;
  /**
   * Moves a `held` batch to its decided state. Returns false (and changes nothing) when the
   * batch does not exist or is no longer `held`, so two deciders cannot both win.
   */
  resolveDeletionBatch(user: string, id: string, resolution: BatchResolution): Promise<boolean>;

  /** Idempotent. */
  close(): Promise<void>;
}
