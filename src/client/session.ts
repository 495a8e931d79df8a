/**
 * FosClient: the operations of FOS/2 over one authenticated connection. Requests go one at
 * a time; a WATCH gets a connection of its own.
 */
import type { z } from 'zod';
import { FosError } from '../errors.js';
import { REPLY, REQUEST } from '../protocol/constants.js';
import { decodeReply, replySchemas } from '../protocol/messages.js';
import type { trashItemSchema } from '../protocol/messages.js';
import type { Entry, TokenInfo } from '../protocol/types.js';
import { Connection } from './connection.js';
import { expectHead } from './replies.js';
import { downloadFile, previewFile, statEntry } from './download.js';
import type { DownloadOptions } from './download.js';
import { decideBatch, holdDeletions, listHeld } from './held.js';
import type { DecisionReply, HeldQuery, HoldArgs, HoldReply, ListedBatch } from './held.js';
import { listAll, restoreAll } from './listing.js';
import { uploadFile } from './upload.js';
import { uploadBatch } from './upload-batch.js';
import type { BatchUploadFile, BatchUploadResult } from './upload-batch.js';
import type { UploadOptions } from './upload.js';
import type { ConnectionOptions, IssuedToken, Listing, Negotiated, Notice, Preview, RestoreReport } from './types.js';

/** A kept version in the server's trash. */
export type TrashItem = z.infer<typeof trashItemSchema>;

/** Options with only a signal. */
export interface SignalOptions {
  readonly signal?: AbortSignal;
}

/** Options of `delete`. */
export interface DeleteOptions extends SignalOptions {
  /** Only if the entry is still at this revision. */
  readonly baseRev?: number | null;
  /** Delete a folder with everything in it. */
  readonly recursive?: boolean;
}

/** Options of `restore`. */
export interface RestoreOptions extends SignalOptions {
  /** Report what would change, change nothing. */
  readonly dryRun?: boolean;
}

/** Options of `move`. */
export interface MoveOptions extends SignalOptions {
  readonly baseRev?: number | null;
}

/** A client on one authenticated FOS/2 connection. `close()` is idempotent. */
export class FosClient {
  readonly connection: Connection;
  readonly #options: ConnectionOptions;

  private constructor(connection: Connection, options: ConnectionOptions) {
    this.connection = connection;
    this.#options = options;
  }

  /**
   * Connects and logs in.
   * @throws FosError as `Connection.open` does.
   */
  static async connect(options: ConnectionOptions, signal?: AbortSignal): Promise<FosClient> {
    return new FosClient(await Connection.open(options, signal), options);
  }

  /** The user the connection is logged in as. */
  get user(): string {
    return this.connection.user;
  }

  /** What HELLO settled. */
  get negotiated(): Negotiated {
    return this.connection.negotiated;
  }

  /** False once the connection broke, closed or the server is shutting down. */
  get isUsable(): boolean {
    return this.connection.isUsable;
  }

  /**
   * Lists a folder ('' is the root), or everything under it with `recursive`.
   * @throws FosError `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PATH_BAD`, connection errors.
   */
  list(path = '', options: { readonly recursive?: boolean; readonly signal?: AbortSignal } = {}): Promise<Listing> {
    const args = { ...(path === '' ? {} : { path }), ...(options.recursive === true ? { recursive: true } : {}) };
    return listAll(this.connection, args, options.signal);
  }

  /**
   * The change feed: every entry changed after revision `since`, deletions included, and
   * the revision to ask from next time.
   * @throws FosError connection errors.
   */
  changesSince(since: number, options: { readonly path?: string; readonly signal?: AbortSignal } = {}): Promise<Listing> {
    return listAll(this.connection, { since, ...(options.path === undefined ? {} : { path: options.path }) }, options.signal);
  }

  /** The entry at a path. @throws FosError `FOS_ERR_PATH_NOT_FOUND`. */
  stat(path: string, options: SignalOptions = {}): Promise<Entry> {
    return statEntry(this.connection, path, options.signal);
  }

  /** Creates a folder (and its parents). @throws FosError `FOS_ERR_PATH_EXISTS`, `FOS_ERR_PATH_BAD`. */
  async mkdir(path: string, options: { readonly mtimeMs?: number; readonly signal?: AbortSignal } = {}): Promise<Entry> {
    const args = { path, ...(options.mtimeMs === undefined ? {} : { mtimeMs: Math.round(options.mtimeMs) }) };
    const line = expectHead(await this.connection.request(REQUEST.mkdir, args, options.signal), REPLY.ok);
    return decodeReply(replySchemas.entry, line).entry;
  }

  /**
   * Deletes a file, or a folder with `recursive`; returns the tombstones.
   * @throws FosError `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_STORE_CONFLICT` (stale `baseRev`).
   */
  async delete(path: string, options: DeleteOptions = {}): Promise<Entry[]> {
    const args = {
      path,
      ...(options.baseRev === undefined ? {} : { baseRev: options.baseRev }),
      ...(options.recursive === true ? { recursive: true } : {}),
    };
    const line = expectHead(await this.connection.request(REQUEST.delete, args, options.signal), REPLY.ok);
    return decodeReply(replySchemas.entries, line).entries;
  }

  /**
   * Renames a file or a whole folder; returns the new entries.
   * @throws FosError `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PATH_EXISTS`, `FOS_ERR_STORE_CONFLICT`.
   */
  async move(from: string, to: string, options: MoveOptions = {}): Promise<Entry[]> {
    const args = { from, to, ...(options.baseRev === undefined ? {} : { baseRev: options.baseRev }) };
    const line = expectHead(await this.connection.request(REQUEST.move, args, options.signal), REPLY.ok);
    return decodeReply(replySchemas.entries, line).entries;
  }

  /** The first `bytes` bytes of a file (1024 by default). @throws FosError `FOS_ERR_PATH_NOT_FOUND`. */
  preview(path: string, options: { readonly bytes?: number; readonly signal?: AbortSignal } = {}): Promise<Preview> {
    return previewFile(this.connection, path, options.bytes, options.signal);
  }

  /** Uploads many small files in few requests; see `uploadBatch`. */
  uploadBatch(files: readonly BatchUploadFile[], options: SignalOptions = {}): Promise<BatchUploadResult[]> {
    return uploadBatch(this.connection, files, options);
  }

  /** Uploads a local file; see `uploadFile`. */
  upload(localPath: string, remotePath: string, options: UploadOptions = {}): Promise<Entry> {
    return uploadFile(this.connection, localPath, remotePath, options);
  }

  /** Downloads to a local file; see `downloadFile`. */
  download(remotePath: string, localPath: string, options: DownloadOptions = {}): Promise<Entry> {
    return downloadFile(this.connection, remotePath, localPath, options);
  }

  /** Issues a device token for this user (shown once). @throws FosError connection errors. */
  async issueToken(device: string, options: SignalOptions = {}): Promise<IssuedToken> {
    const line = expectHead(await this.connection.request(REQUEST.token, { device }, options.signal), REPLY.ok);
    return decodeReply(replySchemas.token, line);
  }

  /** This user's device tokens (never the secrets). */
  async listTokens(options: SignalOptions = {}): Promise<TokenInfo[]> {
    const line = expectHead(await this.connection.request(REQUEST.tokens, {}, options.signal), REPLY.ok);
    return decodeReply(replySchemas.tokens, line).tokens;
  }

  /** Revokes a token by id, or the one this connection logged in with. @throws FosError `FOS_ERR_PATH_NOT_FOUND`. */
  async revokeToken(id?: string, options: SignalOptions = {}): Promise<void> {
    expectHead(await this.connection.request(REQUEST.revoke, id === undefined ? {} : { id }, options.signal), REPLY.ok);
  }

  /** Versions kept in the trash under a folder ('' for all). */
  async trash(path = '', options: SignalOptions = {}): Promise<TrashItem[]> {
    const line = expectHead(await this.connection.request(REQUEST.trash, path === '' ? {} : { path }, options.signal), REPLY.ok);
    return decodeReply(replySchemas.trash, line).items;
  }

  /**
   * Returns a folder ('' for everything) to its state at `atMs` (ms since the epoch) in one
   * commit on the server: old versions come back from the trash, files added since go to
   * the trash. Every change is in the report; unchanged paths are only counted.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PROTO_BAD_REQUEST` (details.reason `future`
   * or `retention`), `FOS_ERR_PATH_EXISTS` (a file above the folder), connection errors.
   */
  async restore(path: string, atMs: number, options: RestoreOptions = {}): Promise<RestoreReport> {
    const args = { ...(path === '' ? {} : { path }), at: atMs, ...(options.dryRun === true ? { dryRun: true } : {}) };
    return restoreAll(this.connection, args, options.signal);
  }

  /**
   * Records the deletions a safety guard held back (a batch per device, folder and side);
   * an empty list withdraws the pending batch. See client/held.ts.
   * @throws FosError from the server, connection errors (the connection is dropped then).
   */
  hold(args: HoldArgs, options: SignalOptions = {}): Promise<HoldReply> {
    return holdDeletions(this.connection, args, options.signal);
  }

  /** Held batches (only pending ones unless `states` says otherwise). @throws FosError `FOS_ERR_PATH_BAD`. */
  held(query: HeldQuery = {}, options: SignalOptions = {}): Promise<ListedBatch[]> {
    return listHeld(this.connection, query, options.signal);
  }

  /**
   * Approves a held batch: the deletions go ahead.
   * @throws FosError `FOS_ERR_PATH_NOT_FOUND` (no such batch), `FOS_ERR_STORE_CONFLICT`
   * (superseded or already decided).
   */
  approveBatch(id: string, options: SignalOptions = {}): Promise<DecisionReply> {
    return decideBatch(this.connection, 'approve', id, options.signal);
  }

  /** Rejects a held batch: the files come back where they were lost. @throws FosError as `approveBatch`. */
  rejectBatch(id: string, options: SignalOptions = {}): Promise<DecisionReply> {
    return decideBatch(this.connection, 'reject', id, options.signal);
  }

  /**
   * Watches for changes on a connection of its own: `onNotice` is called for each NOTICE
   * until `signal` fires (then it resolves) or the connection ends (then it rejects, with
   * FOS_ERR_PROTO_SHUTTING_DOWN when the server is stopping, so the caller reconnects).
   * Notices for revisions after `since` arrive at once.
   * @throws FosError from connecting, `FOS_ERR_NET_CLOSED`, `FOS_ERR_PROTO_SHUTTING_DOWN`.
   */
  async watch(since: number | undefined, onNotice: (notice: Notice) => void, signal: AbortSignal): Promise<void> {
    let connection: Connection;
    try {
      connection = await Connection.open(this.#options, signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    const removeShutdown = connection.onShutdown(() => {
      connection.breakWith(new FosError('FOS_ERR_PROTO_SHUTTING_DOWN', 'the server is shutting down'));
    });
    try {
      const line = await connection.request(REQUEST.watch, since === undefined ? {} : { since }, signal);
      decodeReply(replySchemas.watching, expectHead(line, REPLY.ok));
      for (;;) {
        const notice = expectHead(await connection.nextLine({ signal, idleTimeout: false }), REPLY.notice);
        onNotice(decodeReply(replySchemas.notice, notice));
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      removeShutdown();
      await connection.close();
    }
  }

  /** Says QUIT and closes. Never throws. */
  quit(): Promise<void> {
    return this.connection.quit();
  }

  /** Closes the connection. Idempotent. */
  close(): Promise<void> {
    return this.connection.close();
  }
}
