/**
 * Many small uploads as one (`UPLOADS`, issue 8): each file streams into a partial file of
 * its own in `tmp/<user>/`, hashed as it is written, and is fsynced and checked against its
 * SHA-256 on its own. Then, under the user's lock, each file's base revision, parents and
 * quota are checked as a single upload's are, the verified files are renamed into place,
 * each folder that received one is fsynced once, and every accepted file commits in one
 * store transaction under one revision. A file that fails gets its own error; the others
 * go on.
 */
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FosError, asFosError } from '../errors.js';
import { fsyncDir } from '../fs/atomic.js';
import { storageError } from '../fs/fs.js';
import { HashingWriter } from '../fs/hash.js';
import { normalizeRemotePath } from '../fs/remote-path.js';
import type { Entry } from '../protocol/types.js';
import type { Change } from '../store/types.js';
import { ancestorsOf, checkBaseRev, live } from './entry-rules.js';
import type { PartLocks, Release } from './part-files.js';
import { PART_SUFFIX } from './part-files.js';
import { commitChanges, diskPath } from './storage-context.js';
import type { StorageContext } from './storage-context.js';
import type { Quota } from './types.js';

/** One file of a batch as the client declared it. */
export interface BatchFileMeta {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly mtimeMs: number;
  /** As UPLOAD's: a number, null (the path must be free) or absent (unconditional). */
  readonly baseRev?: number | null | undefined;
}

/** What became of one file: its committed entry or why it was refused. */
export type BatchResult = { readonly entry: Entry } | { readonly error: FosError };

/** A batch whose bytes are arriving. */
export interface UploadBatch {
  /** Bytes file `index` still expects. */
  remaining(index: number): number;
  /**
   * Appends bytes to file `index` (a refused file's bytes are read and dropped).
   * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` past the file's size; a storage failure
   * only refuses that file.
   */
  write(index: number, chunk: Uint8Array): Promise<void>;
  /**
   * Verifies and commits every file that arrived whole; resolves to one result per file.
   * @throws FosError when the store cannot commit (no file is then committed).
   */
  finish(): Promise<BatchResult[]>;
  /** Discards every partial file. Idempotent. */
  abort(): Promise<void>;
}

/** What a batch is made of. */
export interface UploadBatchParts {
  readonly ctx: StorageContext;
  readonly user: string;
  readonly files: readonly BatchFileMeta[];
  readonly quota: Quota;
  /** The server's upload limit per file. */
  readonly maxBytes: number;
  /** `tmp/<user>/`. */
  readonly tmpDir: string;
  readonly locks: PartLocks;
}

interface Slot {
  readonly meta: BatchFileMeta;
  /** The canonical path; '' when the path was refused. */
  path: string;
  writer: HashingWriter | null;
  partPath: string;
  release: Release | null;
  received: number;
  error: FosError | null;
}

/**
 * Checks each file's path and size and opens its partial file.
 * @throws FosError storage errors when the user's tmp folder cannot be prepared.
 */
export async function beginUploadBatch(parts: UploadBatchParts): Promise<UploadBatch> {
  const { ctx, files, maxBytes, tmpDir, locks } = parts;
  try {
    await ctx.fs.mkdirp(tmpDir);
  } catch (err) {
    throw storageError(err, 'cannot prepare the upload folder');
  }
  const seen = new Set<string>();
  const slots: Slot[] = [];
  for (const meta of files) {
    const slot: Slot = { meta, path: '', writer: null, partPath: '', release: null, received: 0, error: null };
    slots.push(slot);
    let path: string;
    try {
      path = normalizeRemotePath(meta.path);
      if (path === '') throw new FosError('FOS_ERR_PATH_BAD', 'a file path is needed, not the root', { details: { reason: 'root' } });
      if (seen.has(path)) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${JSON.stringify(path)} is twice in the batch`);
      if (meta.size > maxBytes) {
        throw new FosError('FOS_ERR_STORE_TOO_LARGE', `${meta.size} bytes is over the server's upload limit of ${maxBytes}`);
      }
    } catch (err) {
      slot.error = asFosError(err);
      continue;
    }
    seen.add(path);
    slot.path = path;
    const key = randomBytes(20).toString('hex');
    const release = await locks.acquire(key, 0);
    if (release === null) {
      slot.error = new FosError('FOS_ERR_STORE_WRITE', 'cannot reserve a partial file');
      continue;
    }
    slot.release = release;
    slot.partPath = join(tmpDir, `${key}${PART_SUFFIX}`);
    try {
      slot.writer = await HashingWriter.open(slot.partPath, { fs: ctx.fs });
    } catch (err) {
      slot.error = asFosError(err);
      await drop(slot);
    }
  }
  return new Batch(parts, slots);
}

class Batch implements UploadBatch {
  readonly #parts: UploadBatchParts;
  readonly #slots: readonly Slot[];
  #isDone = false;

  constructor(parts: UploadBatchParts, slots: readonly Slot[]) {
    this.#parts = parts;
    this.#slots = slots;
  }

  remaining(index: number): number {
    const slot = this.#slot(index);
    return slot.meta.size - slot.received;
  }

  async write(index: number, chunk: Uint8Array): Promise<void> {
    const slot = this.#slot(index);
    if (chunk.length > slot.meta.size - slot.received) {
      throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `more bytes than the ${slot.meta.size} declared for file ${index} of the batch`);
    }
    slot.received += chunk.length;
    if (slot.writer === null) return;
    try {
      await slot.writer.write(chunk);
    } catch (err) {
      slot.error = asFosError(err);
      await drop(slot);
    }
  }

  async finish(): Promise<BatchResult[]> {
    if (this.#isDone) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the batch is already finished');
    this.#isDone = true;
    try {
      // Each file is fsynced and checked on its own; the thread pool runs the fsyncs side by side.
      await Promise.all(this.#slots.map((slot) => verify(slot)));
      return await this.#commit();
    } finally {
      await Promise.all(this.#slots.map((slot) => drop(slot)));
    }
  }

  async abort(): Promise<void> {
    this.#isDone = true;
    await Promise.all(this.#slots.map((slot) => drop(slot)));
  }

  #slot(index: number): Slot {
    const slot = this.#slots[index];
    if (slot === undefined) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `the batch has no file ${index}`);
    return slot;
  }

  /** Under the user's lock: check, place, fsync the folders once, commit in one transaction. */
  async #commit(): Promise<BatchResult[]> {
    const { ctx, user, quota } = this.#parts;
    const ready = this.#slots.filter((slot) => slot.error === null && slot.writer !== null);
    if (ready.length === 0) return this.#slots.map(resultOf(new Map()));
    return ctx.store.withUserLock(user, async () => {
      const now = ctx.clock.now();
      const folders = new Map<string, 'dir' | 'file' | 'missing'>();
      const batchFiles = new Set<string>();
      const placedIn = new Set<string>();
      const changes: Change[] = [];
      let trashed = false;
      const hasQuota = quota.quotaBytes !== null || quota.quotaFiles !== null;
      const usage = hasQuota ? { ...(await ctx.store.usage(user)) } : { bytes: 0, files: 0 };
      const kindOf = async (folder: string): Promise<'dir' | 'file' | 'missing'> => {
        const known = folders.get(folder);
        if (known !== undefined) return known;
        const kind = live(await ctx.store.getEntry(user, folder))?.kind ?? 'missing';
        folders.set(folder, kind);
        return kind;
      };
      for (const slot of ready) {
        const { path, meta } = slot;
        try {
          const current = await ctx.store.getEntry(user, path);
          checkBaseRev(path, current, meta.baseRev);
          const existing = live(current);
          if (existing?.kind === 'dir' || folders.get(path) === 'dir') throw new FosError('FOS_ERR_PATH_EXISTS', `${JSON.stringify(path)} is a folder`);
          const parents: Change[] = [];
          for (const folder of ancestorsOf(path)) {
            const kind = batchFiles.has(folder) ? 'file' : await kindOf(folder);
            if (kind === 'file') {
              throw new FosError('FOS_ERR_PATH_EXISTS', `${JSON.stringify(folder)} is a file, so ${JSON.stringify(path)} cannot be created`);
            }
            if (kind === 'missing') parents.push({ path: folder, kind: 'dir', size: 0, mtimeMs: now, sha256: '', deleted: false });
          }
          const bytes = usage.bytes - (existing?.size ?? 0) + meta.size;
          const files = usage.files + (existing === null ? 1 : 0);
          if (quota.quotaBytes !== null && bytes > quota.quotaBytes) {
            throw new FosError('FOS_ERR_STORE_QUOTA', `the upload would use ${bytes} bytes of a quota of ${quota.quotaBytes}`, {
              details: { quotaBytes: quota.quotaBytes, usedBytes: usage.bytes },
            });
          }
          if (quota.quotaFiles !== null && files > quota.quotaFiles) {
            throw new FosError('FOS_ERR_STORE_QUOTA', `the upload would make ${files} files of a quota of ${quota.quotaFiles}`, {
              details: { quotaFiles: quota.quotaFiles, usedFiles: usage.files },
            });
          }
          const target = await diskPath(ctx, user, path);
          if (existing !== null) {
            const [committed] = await ctx.store.listCommitted(user, path);
            if (committed !== undefined && (await ctx.trash.keep(user, committed, target, now)) !== null) trashed = true;
          }
          const folder = dirname(target);
          if (!placedIn.has(folder)) {
            try {
              await ctx.fs.mkdirp(folder);
            } catch (err) {
              throw storageError(err, 'cannot create the folder');
            }
          }
          try {
            await ctx.fs.rename(slot.partPath, target);
          } catch (err) {
            throw storageError(err, `cannot move ${JSON.stringify(path)} into place`);
          }
          slot.partPath = '';
          placedIn.add(folder);
          for (const parent of parents) folders.set(parent.path, 'dir');
          batchFiles.add(path);
          usage.bytes = bytes;
          usage.files = files;
          changes.push(...parents, { path, kind: 'file', size: meta.size, mtimeMs: meta.mtimeMs, sha256: meta.sha256, deleted: false });
        } catch (err) {
          slot.error = asFosError(err);
        }
      }
      if (trashed) await ctx.trash.sync(user);
      // One fsync per folder that received files, not one per file (issue 8).
      await Promise.all([...placedIn].map((folder) => fsyncDir(folder, { fs: ctx.fs })));
      const entries = await commitChanges(ctx, user, changes);
      return this.#slots.map(resultOf(new Map(entries.map((entry) => [entry.path, entry]))));
    });
  }
}

/** Finishes a slot's file: fsynced, whole, and with the declared SHA-256, or the slot's error. */
async function verify(slot: Slot): Promise<void> {
  const writer = slot.writer;
  if (writer === null || slot.error !== null) return;
  try {
    if (slot.received !== slot.meta.size) {
      throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${slot.received} of ${slot.meta.size} bytes arrived`);
    }
    const sha256 = await writer.finish();
    if (sha256 !== slot.meta.sha256) {
      throw new FosError('FOS_ERR_STORE_CHECKSUM', `${JSON.stringify(slot.path)} arrived with another SHA-256 than announced`);
    }
  } catch (err) {
    slot.error = asFosError(err);
  }
}

function resultOf(entries: ReadonlyMap<string, Entry>): (slot: Slot) => BatchResult {
  return (slot) => {
    if (slot.error !== null) return { error: slot.error };
    const entry = entries.get(slot.path);
    return entry === undefined ? { error: new FosError('FOS_ERR_STORE_CORRUPT', `the commit of ${JSON.stringify(slot.path)} returned no entry`) } : { entry };
  };
}

/** Closes and removes a slot's partial file (if it is still there) and releases its key. */
async function drop(slot: Slot): Promise<void> {
  const { writer, partPath, release } = slot;
  slot.writer = null;
  slot.release = null;
  slot.partPath = '';
  await writer?.close().catch(() => undefined);
  // Nothing to keep: a batch is never resumed, and a file that went into place is gone here.
  if (partPath !== '') await unlink(partPath).catch(() => undefined);
  release?.();
}
