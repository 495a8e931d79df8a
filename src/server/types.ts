/**
 * Types shared by the server's parts: the clock, the storage API the FOS/2 and legacy
 * sessions use, and the session hooks the listener drives.
 */
import type { Entry } from '../protocol/types.js';

/** Wall-clock time, injected so tests and the store agree on "now". */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** What an uploader declares before it sends the bytes. */
export interface UploadMeta {
  readonly path: string;
  readonly size: number;
  /** Lower-case hex SHA-256 of the whole content. */
  readonly sha256: string;
  readonly mtimeMs: number;
  /** A number: only if the entry is still at this revision; null: only if the path is free. */
  readonly baseRev?: number | null | undefined;
}

/**
 * What an `UPLOAD` declares: the meta, where the SHA-256 may instead come with `EOF`
 * (feature `eof-hash`), once the client has hashed what it sent.
 */
export interface UploadStart extends Omit<UploadMeta, 'sha256'> {
  readonly sha256?: string | undefined;
}

/** An upload in progress: the bytes go to a partial file in `tmp/` until `finish`. */
export interface UploadSink {
  /** Canonical remote path. */
  readonly path: string;
  /** Bytes the server already held when the upload began (resume point). */
  readonly offset: number;
  /** Bytes held now: `offset` plus what was written since. */
  readonly received: number;
  /**
   * Appends bytes and resolves once they are written. Calls may overlap without
   * waiting: the bytes are hashed at the call and written in call order.
   * @throws FosError `FOS_ERR_STORE_TOO_LARGE` past the declared size (the partial file
   * is discarded), `FOS_ERR_STORE_NO_SPACE` when the disk is full, `FOS_ERR_STORE_WRITE`.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Verifies size and SHA-256 (the one declared at the start, else `sha256AtEof`), then
   * commits the file under its name.
   * @throws FosError `FOS_ERR_STORE_CHECKSUM` (partial discarded; also when `sha256AtEof`
   * differs from a declared one), `FOS_ERR_STORE_CONFLICT`, `FOS_ERR_PATH_EXISTS`,
   * `FOS_ERR_STORE_QUOTA`, `FOS_ERR_PROTO_BAD_REQUEST` when bytes are missing or no SHA-256
   * was named at all (the partial stays for a resume).
   */
  finish(sha256AtEof?: string): Promise<Entry>;
  /** Closes the partial file and keeps it for a later resume. Idempotent. */
  suspend(): Promise<void>;
  /** Closes and deletes the partial file. Idempotent. */
  abort(): Promise<void>;
}

/** A file opened for reading at a revision; the bytes stay those of that version. */
export interface DownloadSource {
  readonly entry: Entry;
  /** First byte sent. */
  readonly offset: number;
  /** Bytes that will be sent from `offset`. */
  readonly length: number;
  /** Reads the next piece of at most `maxBytes`; null at the end. */
  read(maxBytes: number): Promise<Buffer | null>;
  /**
   * Reads exactly `length` bytes at `position` of the version (a delta upload's base),
   * independently of `read`; into the start of `into` when given (at least `length` long).
   * @throws FosError `FOS_ERR_STORE_WRITE` when the file is shorter or unreadable.
   */
  readAt(position: number, length: number, into?: Buffer): Promise<Buffer>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** A listing and the user's revision when it was taken. */
export interface Listing {
  readonly entries: Entry[];
  readonly rev: number;
  /** The change feed's history mark (history-mark.ts); absent for folder listings. */
  readonly history?: string;
}

/** Per-user limits read from the account. */
export interface Quota {
  readonly quotaBytes: number | null;
  readonly quotaFiles: number | null;
}
