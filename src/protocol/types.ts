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
