/**
 * The values FOS/2 carries: entries, requests, replies. Shared by the server, the client,
 * the store and the sync engine, so that one shape of "a file on the server" exists.
 */

/** What kind of thing an entry is. Folders are entries so that empty folders sync. */
export type EntryKind = 'file' | 'dir';

/** A path on the server with the metadata both sides agree on. */
export interface Entry {
  /** '/'-separated, Unicode NFC, relative to the user's root, no leading or trailing '/'. */
  readonly path: string;
  readonly kind: EntryKind;
  /** Bytes; 0 for folders. */
  readonly size: number;
  /** Modification time in ms since the epoch, as the uploader reported it. */
  readonly mtimeMs: number;
  /** Lower-case hex SHA-256 of the content; '' for folders. */
  readonly sha256: string;
  /** The user's revision counter value at which this entry last changed. */
  readonly rev: number;
  /** True for a deletion record (tombstone) in the change feed. */
  readonly deleted: boolean;
}

/** An account as `fos user list` shows it (never the hash). */
export interface Account {
  readonly name: string;
  readonly createdAt: number;
  readonly quotaBytes: number | null;
  readonly quotaFiles: number | null;
}

/** A device token as listed; the secret itself is shown once, when it is issued. */
export interface TokenInfo {
  readonly id: string;
  readonly user: string;
  readonly device: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

/**
 * Which side a held deletion would remove files from. `remote`: the device lost them and
 * the server would lose them; `local`: the server lost them and the device would.
 */
export type DeletionSide = 'remote' | 'local';

/** The deletion sides, in a stable order. */
export const DELETION_SIDES = ['remote', 'local'] as const satisfies readonly DeletionSide[];

/**
 * Where a held batch stands. `held`: waiting for a person; `approved` / `rejected`: decided;
 * `superseded`: the device held a different set since (see `successor`); `withdrawn`: the
 * deletions no longer happen (the files came back, or were deleted with `--force`).
 */
export type BatchState = 'held' | 'approved' | 'rejected' | 'superseded' | 'withdrawn';

/** The batch states, in a stable order. */
export const BATCH_STATES = ['held', 'approved', 'rejected', 'superseded', 'withdrawn'] as const satisfies readonly BatchState[];

/** One deletion of a held batch; `path` is a server path (not relative to the folder). */
export interface DeletionItem {
  readonly path: string;
  readonly kind: EntryKind;
  /**
   * Side `remote`: the revision the device last agreed on (the deletion only goes ahead
   * while the server is still there). Side `local`: the revision of the server's tombstone.
   */
  readonly rev: number;
  readonly size: number;
  /** '' for folders. */
  readonly sha256: string;
}

/** A batch of deletions a safety guard held back, without its items. */
export interface DeletionBatch {
  /** Short and human-typable: 8 characters of Crockford base32, lower case. */
  readonly id: string;
  /** The device whose pass held the deletions. */
  readonly device: string;
  /** The server folder of the device's folder pair ('' for the user's root). */
  readonly folder: string;
  readonly side: DeletionSide;
  readonly state: BatchState;
  readonly createdAt: number;
  /** When the state left `held`, or null. */
  readonly resolvedAt: number | null;
  /** Items in the batch. */
  readonly count: number;
  /** Bytes of the files in the batch. */
  readonly bytes: number;
  /** An approved `remote` batch: the revision its deletions were committed at. */
  readonly commitRev: number | null;
  /** A superseded batch: the id of the batch that replaced it. */
  readonly successor: string | null;
  /** Fingerprint of the item set (`deletionSetKey`), so a device can tell "same set". */
  readonly itemsKey: string;
}
