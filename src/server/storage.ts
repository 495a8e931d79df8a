/**
 * The server's file storage (DESIGN.md "Server storage"): the one API both the FOS/2 and
 * the legacy sessions use, with no sockets in sight. Files live plain under
 * `uploads/<user>/`, uploads in flight under `tmp/<user>/`, kept versions under
 * `trash/<user>/`; metadata and revisions go through the Store.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FosError, errnoCode } from '../errors.js';
import { nodeFs, storageError } from '../fs/fs.js';
import type { Fs } from '../fs/fs.js';
import { normalizeRemotePath } from '../fs/remote-path.js';
import type { Logger } from '../log/logger.js';
import type { DeletionBatch, DeletionItem, Entry } from '../protocol/types.js';
import type { Store, TrashRecord } from '../store/types.js';
import { approveBatch, rejectBatch } from './batch-decisions.js';
import type { Decision } from './batch-decisions.js';
import { createDownloadSource } from './download-source.js';
import { isAtOrUnder, live, notFound } from './entry-rules.js';
import { holdDeletions, listBatches } from './held-batches.js';
import type { BatchQuery, HoldRequest, HoldResult } from './held-batches.js';
import { PART_SUFFIX, PartLocks, partKey, purgeStaleParts } from './part-files.js';
import { PartWriter } from './part-writer.js';
import { checkUpload, commitUpload, makeFolder, movePath, removePath } from './storage-changes.js';
import { diskPath } from './storage-context.js';
import type { StorageContext } from './storage-context.js';
import { storageLayout, userRoot, userTmp } from './storage-layout.js';
import type { StorageLayout } from './storage-layout.js';
import { HistoryMark } from './history-mark.js';
import { reconcileUser } from './storage-reconcile.js';
import type { ReconcileReport } from './storage-reconcile.js';
import { restoreTree } from './storage-restore.js';
import type { RestoreOutcome } from './storage-restore.js';
import { TrashBin } from './trash-bin.js';
import { beginStreamedUpload } from './streamed-upload.js';
import type { StreamedUpload } from './streamed-upload.js';
import { createUploadSink } from './upload-sink.js';
import { beginUploadBatch } from './upload-batch.js';
import type { BatchFileMeta, UploadBatch } from './upload-batch.js';
import type { Clock, DownloadSource, Listing, Quota, UploadSink, UploadStart } from './types.js';
import type { WatchHub } from './watch-hub.js';

/** Days a kept version stays in the trash unless configured otherwise. */
export const DEFAULT_TRASH_RETENTION_MS = 30 * 24 * 3600 * 1000;
/** How long a partial upload waits for its resume unless configured otherwise. */
export const DEFAULT_PART_RETENTION_MS = 7 * 24 * 3600 * 1000;
/** How long a second upload of the same file waits for the first to let go of its partial file. */
const PART_WAIT_MS = 2000;

/** No quota. */
export const NO_QUOTA: Quota = Object.freeze({ quotaBytes: null, quotaFiles: null });

/** Options of {@link Storage.open}. */
export interface StorageOptions {
  readonly dataDir: string;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hub: WatchHub;
  /** The write seam; the real filesystem by default. */
  readonly fs?: Fs;
  /** Largest upload accepted; unlimited by default. */
  readonly maxUploadBytes?: number;
  readonly trashRetentionMs?: number;
  readonly partRetentionMs?: number;
}

/** Options of a download. */
export interface DownloadOptions {
  readonly offset?: number;
  /** At most this many bytes (a preview). */
  readonly maxBytes?: number;
}

/** The file storage of one data folder. */
export class Storage {
  readonly layout: StorageLayout;
  readonly #ctx: StorageContext;
  readonly #locks = new PartLocks();
  readonly #maxUploadBytes: number;
  readonly #trashRetentionMs: number;
  readonly #partRetentionMs: number;
  readonly #history: HistoryMark;

  private constructor(ctx: StorageContext, options: StorageOptions) {
    this.layout = ctx.layout;
    this.#ctx = ctx;
    this.#history = new HistoryMark(ctx.layout.dataDir, ctx.clock);
    this.#maxUploadBytes = options.maxUploadBytes ?? Number.MAX_SAFE_INTEGER;
    this.#trashRetentionMs = options.trashRetentionMs ?? DEFAULT_TRASH_RETENTION_MS;
    this.#partRetentionMs = options.partRetentionMs ?? DEFAULT_PART_RETENTION_MS;
  }

  /**
   * Creates the folders of the layout and returns the storage.
   * @throws FosError `FOS_ERR_STORE_WRITE` when the data folder cannot be written.
   */
  static async open(options: StorageOptions): Promise<Storage> {
    const layout = storageLayout(options.dataDir);
    const fs = options.fs ?? nodeFs;
    try {
      for (const folder of [layout.uploads, layout.tmp, layout.trash]) await fs.mkdirp(folder);
    } catch (err) {
      throw storageError(err, `cannot prepare the data folder ${layout.dataDir}`);
    }
    const trash = new TrashBin({ layout, store: options.store, fs });
    const ctx: StorageContext = { layout, store: options.store, fs, clock: options.clock, trash, hub: options.hub, logger: options.logger };
    return new Storage(ctx, options);
  }

  /**
   * Starts (or resumes) an upload. The sink's `offset` says how many bytes are already held.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_STORE_TOO_LARGE`, `FOS_ERR_STORE_CONFLICT`,
   * `FOS_ERR_PATH_EXISTS`, `FOS_ERR_STORE_QUOTA`, storage errors.
   */
  async beginUpload(user: string, meta: UploadStart, quota: Quota = NO_QUOTA): Promise<UploadSink> {
    const path = requireName(meta.path);
    if (meta.size > this.#maxUploadBytes) {
      throw new FosError('FOS_ERR_STORE_TOO_LARGE', `${meta.size} bytes is over the server's upload limit of ${this.#maxUploadBytes}`);
    }
    const ctx = this.#ctx;
    await checkUpload(ctx, user, path, meta, quota);
    await diskPath(ctx, user, path);
    const folder = userTmp(this.layout, user);
    // Without a SHA-256 yet, the same upload is the same file at the same mtime.
    const key = partKey(user, path, meta.size, meta.sha256 ?? `mtime:${meta.mtimeMs}`);
    let release = await this.#locks.acquire(key, PART_WAIT_MS);
    let partName = key;
    if (release === null) {
      // The same upload is running on another connection: this one gets its own file.
      partName = `${key}-${randomBytes(6).toString('hex')}`;
      release = await this.#locks.acquire(partName, 0);
    }
    if (release === null) throw new FosError('FOS_ERR_STORE_WRITE', 'cannot reserve a partial file');
    const releasePart = release;
    const partPath = join(folder, `${partName}${PART_SUFFIX}`);
    try {
      await ctx.fs.mkdirp(folder);
      const held = await fileSize(partPath);
      const isResumable = held !== null && held <= meta.size;
      if (held !== null && !isResumable) await unlink(partPath);
      const writer = await PartWriter.open(partPath, ctx.fs, isResumable);
      const commit = (from: string, sha256: string): Promise<Entry> => commitUpload(ctx, user, path, { ...meta, sha256 }, quota, from);
      return createUploadSink({ path, meta, partPath, writer, release: releasePart, commit });
    } catch (err) {
      releasePart();
      throw storageError(err, `cannot start the upload of ${JSON.stringify(path)}`);
    }
  }

  /**
   * Starts a batch of small uploads (`UPLOADS`): each file is checked, verified and refused
   * on its own; the accepted ones commit under one revision.
   */
  beginUploadBatch(user: string, files: readonly BatchFileMeta[], quota: Quota = NO_QUOTA): UploadBatch {
    return beginUploadBatch({
      ctx: this.#ctx,
      user,
      files,
      quota,
      maxBytes: this.#maxUploadBytes,
      userRoot: userRoot(this.layout, user),
      tmpDir: userTmp(this.layout, user),
      locks: this.#locks,
    });
  }

  /**
   * Starts an upload whose size and content are known only at its end (legacy mode's
   * UPLOAD, which sends chunks until `EOF`). It is never resumable: a cut-short one is
   * discarded, and nothing appears under the name before `finish`.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_EXISTS`, storage errors.
   */
  async beginStreamedUpload(user: string, remotePath: string, quota: Quota = NO_QUOTA): Promise<StreamedUpload> {
    const path = requireName(remotePath);
    const key = randomBytes(20).toString('hex');
    const partPath = join(userTmp(this.layout, user), `${key}${PART_SUFFIX}`);
    const release = await this.#locks.acquire(key, 0);
    if (release === null) throw new FosError('FOS_ERR_STORE_WRITE', 'cannot reserve a partial file');
    return beginStreamedUpload({ ctx: this.#ctx, user, path, quota, maxBytes: this.#maxUploadBytes, partPath, release });
  }

  /**
   * Opens a file for a download or a preview. The handle is taken under the user's lock,
   * so the bytes are those of the returned entry even if a new version lands meanwhile.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PROTO_BAD_REQUEST`
   * for a folder or an offset past the end.
   */
  async openDownload(user: string, remotePath: string, options: DownloadOptions = {}): Promise<DownloadSource> {
    const path = requireName(remotePath);
    const ctx = this.#ctx;
    return ctx.store.withUserLock(user, async () => {
      const entry = live(await ctx.store.getEntry(user, path));
      if (entry === null) throw notFound(path);
      if (entry.kind === 'dir') throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${JSON.stringify(path)} is a folder`);
      const offset = options.offset ?? 0;
      if (offset > entry.size) {
        throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `offset ${offset} is past the end (${entry.size} bytes)`);
      }
      const file = await diskPath(ctx, user, path);
      let handle;
      try {
        handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') throw new FosError('FOS_ERR_PATH_NOT_FOUND', `${JSON.stringify(path)} is missing on disk`);
        throw storageError(err, `cannot open ${JSON.stringify(path)}`);
      }
      const length = Math.min(entry.size - offset, options.maxBytes ?? Number.MAX_SAFE_INTEGER);
      return createDownloadSource(handle, entry, offset, length);
    });
  }

  /**
   * The live entry at a path; the root is a folder at the user's current revision.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`.
   */
  async stat(user: string, remotePath: string): Promise<Entry> {
    const path = normalizeRemotePath(remotePath);
    if (path === '') return rootEntry(await this.#ctx.store.currentRev(user));
    const entry = live(await this.#ctx.store.getEntry(user, path));
    if (entry === null) throw notFound(path);
    return entry;
  }

  /**
   * Live entries of a folder (its whole subtree with `recursive`), or the one entry of a file.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`.
   */
  async list(user: string, remotePath: string, recursive: boolean): Promise<Listing> {
    const path = normalizeRemotePath(remotePath);
    const store = this.#ctx.store;
    // The revision is read first: a commit landing during the listing is then also in the
    // next change feed, never lost between the two.
    const rev = await store.currentRev(user);
    if (path !== '') {
      const entry = live(await store.getEntry(user, path));
      if (entry === null) throw notFound(path);
      if (entry.kind === 'file') return { entries: [entry], rev };
    }
    return { entries: await store.listEntries(user, { prefix: path, recursive }), rev };
  }

  /**
   * The change feed: every entry changed after `since` (tombstones included) at or under a
   * path, with the history mark (see history-mark.ts).
   * @throws FosError `FOS_ERR_PATH_BAD`.
   */
  async changesSince(user: string, since: number, remotePath = ''): Promise<Listing> {
    const path = normalizeRemotePath(remotePath);
    const store = this.#ctx.store;
    const rev = await store.currentRev(user);
    const entries = await store.changesSince(user, since);
    const history = await this.#history.current();
    return { entries: entries.filter((e) => e.rev <= rev && isAtOrUnder(path, e.path)), rev, history };
  }

  /** The user's current revision. */
  currentRev(user: string): Promise<number> {
    return this.#ctx.store.currentRev(user);
  }

  /**
   * Creates a folder and any missing folders above it.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_EXISTS`.
   */
  mkdir(user: string, remotePath: string, mtimeMs?: number): Promise<Entry> {
    return makeFolder(this.#ctx, user, normalizeRemotePath(remotePath), mtimeMs);
  }

  /**
   * Deletes a file or (with `recursive`) a folder; the files go to the trash. Returns the tombstones.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_STORE_CONFLICT`,
   * `FOS_ERR_PATH_NOT_EMPTY`.
   */
  remove(user: string, remotePath: string, options: { baseRev?: number | null | undefined; recursive?: boolean | undefined } = {}): Promise<Entry[]> {
    return removePath(this.#ctx, user, normalizeRemotePath(remotePath), options.baseRev, options.recursive === true);
  }

  /**
   * Renames a file or a whole folder in one commit. Returns the new entries.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PATH_EXISTS`,
   * `FOS_ERR_STORE_CONFLICT`.
   */
  move(user: string, from: string, to: string, baseRev?: number | null): Promise<Entry[]> {
    return movePath(this.#ctx, user, normalizeRemotePath(from), normalizeRemotePath(to), baseRev);
  }

  /**
   * Returns a folder (a file, or everything with '') to its state at `at` in one commit:
   * see `restoreTree`. With `dryRun`, only plans. The copies of old versions wait in a
   * folder of the restore's own under `tmp/<user>/`, held against the stale-file sweep.
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PROTO_BAD_REQUEST` for a moment in the
   * future or before the trash's retention window, `FOS_ERR_PATH_EXISTS`, storage errors.
   */
  async restore(user: string, remotePath: string, at: number, options: { readonly dryRun?: boolean } = {}): Promise<RestoreOutcome> {
    const path = normalizeRemotePath(remotePath);
    const key = `restore-${randomBytes(8).toString('hex')}`;
    const release = await this.#locks.acquire(key, 0);
    if (release === null) throw new FosError('FOS_ERR_STORE_WRITE', 'cannot reserve a folder for the restore');
    const workDir = join(userTmp(this.layout, user), `${key}${PART_SUFFIX}`);
    try {
      return await restoreTree(this.#ctx, user, { path, at, dryRun: options.dryRun === true, retentionMs: this.#trashRetentionMs, workDir });
    } finally {
      await rm(workDir, { recursive: true, force: true });
      release();
    }
  }

  /**
   * Kept versions under a folder.
   * @throws FosError `FOS_ERR_PATH_BAD`.
   */
  listTrash(user: string, remotePath = ''): Promise<TrashRecord[]> {
    return this.#ctx.trash.list(user, normalizeRemotePath(remotePath));
  }

  /**
   * Records deletions a device's guard held back (held-batches.ts).
   * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_STORE_TOO_LARGE`, store errors.
   */
  holdDeletions(user: string, request: HoldRequest): Promise<HoldResult> {
    return holdDeletions(this.#ctx, user, request);
  }

  /** The user's held batches matching `query`, oldest first. @throws FosError `FOS_ERR_PATH_BAD`. */
  listBatches(user: string, query: BatchQuery): Promise<DeletionBatch[]> {
    return listBatches(this.#ctx, user, query);
  }

  /** A batch's items by path, the first `limit` when given. */
  batchItems(user: string, id: string, limit?: number): Promise<DeletionItem[]> {
    return this.#ctx.store.listDeletionItems(user, id, limit);
  }

  /**
   * Approves a held batch (batch-decisions.ts).
   * @throws FosError `FOS_ERR_SYNC_NO_BATCH`, `FOS_ERR_SYNC_BATCH_RESOLVED`, storage errors.
   */
  approveBatch(user: string, id: string): Promise<Decision> {
    return approveBatch(this.#ctx, user, id);
  }

  /**
   * Rejects a held batch (batch-decisions.ts).
   * @throws FosError `FOS_ERR_SYNC_NO_BATCH`, `FOS_ERR_SYNC_BATCH_RESOLVED`, storage errors.
   */
  rejectBatch(user: string, id: string): Promise<Decision> {
    return rejectBatch(this.#ctx, user, id);
  }

  /** Removes expired trash and stale partial uploads; returns the counts. */
  async purgeExpired(): Promise<{ trash: number; parts: number }> {
    const now = this.#ctx.clock.now();
    const trash = await this.#ctx.trash.purge(now - this.#trashRetentionMs);
    const parts = await purgeStaleParts(this.layout, now - this.#partRetentionMs, this.#locks);
    return { trash, parts };
  }

  /**
   * Compares disk and store for every account and commits the differences.
   * @throws FosError from the store or the disk.
   */
  async reconcile(): Promise<ReconcileReport[]> {
    const reports: ReconcileReport[] = [];
    for (const account of await this.#ctx.store.listUsers()) {
      reports.push(await this.#ctx.store.withUserLock(account.name, () => reconcileUser(this.#ctx, account.name)));
    }
    if (reports.some((report) => report.added + report.changed + report.removed > 0)) {
      // The store was behind the disk: revisions agents saw may have been lost and will be
      // reused, so the history they knew ends here. (A file whose content is as recorded and
      // only its mtime is not says nothing of the kind.)
      const history = await this.#history.renew();
      this.#ctx.logger.warn({ history }, 'the store was behind the disk: a new history mark tells agents to reread the change feed');
    } else {
      // Made now if there is none yet, rather than by two first requests at once.
      await this.#history.current();
    }
    return reports;
  }

  /**
   * Moves the files of an account being removed into `trash/<user>/` (purged after the
   * retention period) and drops its partial uploads. Returns where the files went,
   * relative to `trash/`, or null when the account had no folder.
   * @throws FosError `FOS_ERR_STORE_WRITE`.
   */
  async retireUserFiles(user: string): Promise<string | null> {
    const kept = await this.#ctx.trash.keepFolder(user, userRoot(this.layout, user), this.#ctx.clock.now());
    await rm(userTmp(this.layout, user), { recursive: true, force: true });
    return kept;
  }
}

function requireName(remotePath: string): string {
  const path = normalizeRemotePath(remotePath);
  if (path === '') throw new FosError('FOS_ERR_PATH_BAD', 'a file path is needed, not the root', { details: { reason: 'root' } });
  return path;
}

function rootEntry(rev: number): Entry {
  return { path: '', kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev, deleted: false };
}

async function fileSize(path: string): Promise<number | null> {
  try {
    const info = await lstat(path);
    return info.isFile() ? info.size : null;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}
