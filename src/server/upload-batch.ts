/**
 * Many small uploads as one (`UPLOADS`, issue 8). The batch's bytes (at most a window)
 * arrive in memory; then every file is written to a partial file of its own in
 * `tmp/<user>/`, hashed, fsynced and checked against its SHA-256, all side by side. Under
 * the user's lock each file's base revision, parents and quota are checked as a single
 * upload's are, the verified files are renamed into place side by side, each folder that
 * received one is fsynced once, and every accepted file commits in one store transaction
 * under one revision. A file that fails gets its own error; the others go on. The work a
 * single upload does one file at a time (a round trip to the thread pool for each step,
 * waiting behind other uploads' fsyncs) is what made 10,000 small files take minutes.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FosError, asFosError } from '../errors.js';
import { fsyncDir } from '../fs/atomic.js';
import { storageError } from '../fs/fs.js';
import { HashingWriter } from '../fs/hash.js';
import { normalizeRemotePath } from '../fs/remote-path.js';
import { resolveUnder } from '../fs/safe-root.js';
import type { Entry } from '../protocol/types.js';
import type { Change } from '../store/types.js';
import { ancestorsOf, checkBaseRev, live } from './entry-rules.js';
import type { PartLocks, Release } from './part-files.js';
import { PART_SUFFIX } from './part-files.js';
import { usageAfterUpload } from './storage-changes.js';
import { commitChanges } from './storage-context.js';
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
   * Takes bytes of file `index` (a refused file's bytes are read and dropped).
   * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` past the file's size.
   */
  take(index: number, chunk: Uint8Array): void;
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
  /** `uploads/<user>/`. */
  readonly userRoot: string;
  /** `tmp/<user>/`. */
  readonly tmpDir: string;
  readonly locks: PartLocks;
}

interface Slot {
  readonly meta: BatchFileMeta;
  /** The canonical path; '' when the path was refused. */
  path: string;
  readonly chunks: Buffer[];
  received: number;
  /** The verified partial file; '' before, and once it is placed or dropped. */
  partPath: string;
  release: Release | null;
  error: FosError | null;
}

/**
 * Checks each file's path and size; nothing touches the disk before `finish`.
 * @throws nothing: a refused file carries its error.
 */
export function beginUploadBatch(parts: UploadBatchParts): UploadBatch {
  const { files, maxBytes } = parts;
  const seen = new Set<string>();
  const slots: Slot[] = [];
  for (const meta of files) {
    const slot: Slot = { meta, path: '', chunks: [], received: 0, partPath: '', release: null, error: null };
    slots.push(slot);
    try {
      const path = normalizeRemotePath(meta.path);
      if (path === '') throw new FosError('FOS_ERR_PATH_BAD', 'a file path is needed, not the root', { details: { reason: 'root' } });
      if (seen.has(path)) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${JSON.stringify(path)} is twice in the batch`);
      if (meta.size > maxBytes) {
        throw new FosError('FOS_ERR_STORE_TOO_LARGE', `${meta.size} bytes is over the server's upload limit of ${maxBytes}`);
      }
      seen.add(path);
      slot.path = path;
    } catch (err) {
      slot.error = asFosError(err);
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

  take(index: number, chunk: Uint8Array): void {
    const slot = this.#slot(index);
    if (chunk.length > slot.meta.size - slot.received) {
      throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `more bytes than the ${slot.meta.size} declared for file ${index} of the batch`);
    }
    slot.received += chunk.length;
    // A copy: the frame's bytes may share memory with the rest of the read buffer.
    if (slot.error === null) slot.chunks.push(Buffer.from(chunk));
  }

  async finish(): Promise<BatchResult[]> {
    if (this.#isDone) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the batch is already finished');
    this.#isDone = true;
    try {
      // Every file is written, then every one fsynced and checked, side by side: the fsyncs
      // after all the writes share the file system's journal commits.
      await this.#prepareTmp();
      const writers = await Promise.all(this.#slots.map((slot) => this.#write(slot)));
      await Promise.all(this.#slots.map((slot, i) => this.#verify(slot, writers[i] ?? null)));
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

  async #prepareTmp(): Promise<void> {
    try {
      await this.#parts.ctx.fs.mkdirp(this.#parts.tmpDir);
    } catch (err) {
      throw storageError(err, 'cannot prepare the upload folder');
    }
  }

  /** Writes a slot's bytes to a partial file of its own (not yet fsynced); or the slot's error. */
  async #write(slot: Slot): Promise<HashingWriter | null> {
    if (slot.error !== null) return null;
    const { ctx, tmpDir, locks } = this.#parts;
    const bytes = Buffer.concat(slot.chunks);
    slot.chunks.length = 0;
    try {
      if (bytes.length !== slot.meta.size) {
        throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${bytes.length} of ${slot.meta.size} bytes arrived`);
      }
      const key = randomBytes(20).toString('hex');
      // Held so that the purge of stale partial files leaves this one alone.
      slot.release = await locks.acquire(key, 0);
      if (slot.release === null) throw new FosError('FOS_ERR_STORE_WRITE', 'cannot reserve a partial file');
      slot.partPath = join(tmpDir, `${key}${PART_SUFFIX}`);
      const writer = await HashingWriter.open(slot.partPath, { fs: ctx.fs });
      try {
        await writer.write(bytes);
      } catch (err) {
        await writer.close().catch(() => undefined);
        throw err;
      }
      return writer;
    } catch (err) {
      slot.error = asFosError(err);
      await drop(slot);
      return null;
    }
  }

  /** fsyncs a written slot and checks it is the file announced; or the slot's error. */
  async #verify(slot: Slot, writer: HashingWriter | null): Promise<void> {
    if (writer === null) return;
    try {
      const sha256 = await writer.finish();
      if (sha256 !== slot.meta.sha256) {
        throw new FosError('FOS_ERR_STORE_CHECKSUM', `${JSON.stringify(slot.path)} arrived with another SHA-256 than announced`);
      }
    } catch (err) {
      await writer.close().catch(() => undefined);
      slot.error = asFosError(err);
      await drop(slot);
    }
  }

  /** Under the user's lock: check each file, place them side by side, fsync each folder once, commit in one transaction. */
  async #commit(): Promise<BatchResult[]> {
    const { ctx, user } = this.#parts;
    const ready = this.#slots.filter((slot) => slot.error === null && slot.partPath !== '');
    if (ready.length === 0) return this.#slots.map(resultOf(new Map()));
    return ctx.store.withUserLock(user, async () => {
      const now = ctx.clock.now();
      const placing = await this.#check(ready, now);
      const folders = [...new Set(placing.map((p) => dirname(p.target)))];
      const made = new Map<string, FosError | null>();
      await Promise.all(
        folders.map(async (folder) => {
          try {
            await ctx.fs.mkdirp(folder);
            made.set(folder, null);
          } catch (err) {
            made.set(folder, storageError(err, 'cannot create the folder'));
          }
        }),
      );
      await Promise.all(
        placing.map(async (p) => {
          const failed = made.get(dirname(p.target)) ?? null;
          try {
            if (failed !== null) throw failed;
            await ctx.fs.rename(p.slot.partPath, p.target);
            p.slot.partPath = '';
          } catch (err) {
            p.slot.error = err instanceof FosError ? err : storageError(err, `cannot move ${JSON.stringify(p.slot.path)} into place`);
          }
        }),
      );
      const placed = placing.filter((p) => p.slot.error === null);
      // One fsync per folder that received files, not one per file (issue 8).
      await Promise.all([...new Set(placed.map((p) => dirname(p.target)))].map((folder) => fsyncDir(folder, { fs: ctx.fs })));
      // A folder created for a file whose rename failed is still a folder on disk: it is committed too.
      const changes = placing.flatMap((p) => {
        if (p.slot.error === null) return [...p.parents, p.change];
        return made.get(dirname(p.target)) === null ? p.parents : [];
      });
      const entries = await commitChanges(ctx, user, dedupe(changes));
      return this.#slots.map(resultOf(new Map(entries.map((entry) => [entry.path, entry]))));
    });
  }

  /**
   * The checks of a single upload, for each file in order: base revision, no folder at the
   * path, no file among the parents (committed or earlier in the batch), the quota with the
   * batch's earlier files counted. Keeps the old version of a replaced file in the trash.
   */
  async #check(ready: readonly Slot[], now: number): Promise<Placing[]> {
    const { ctx, user, quota, userRoot } = this.#parts;
    const folders = new Map<string, 'dir' | 'file' | 'missing'>();
    const resolved = new Map<string, string>();
    const batchFiles = new Set<string>();
    const placing: Placing[] = [];
    let trashed = false;
    const hasQuota = quota.quotaBytes !== null || quota.quotaFiles !== null;
    let usage = hasQuota ? await ctx.store.usage(user) : { bytes: 0, files: 0 };
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
        const after = usageAfterUpload(usage, existing, meta.size, quota);
        const target = await targetOf(userRoot, path, resolved);
        if (existing !== null) {
          const [committed] = await ctx.store.listCommitted(user, path);
          if (committed !== undefined && (await ctx.trash.keep(user, committed, target, now)) !== null) trashed = true;
        }
        for (const parent of parents) folders.set(parent.path, 'dir');
        batchFiles.add(path);
        usage = after;
        placing.push({ slot, target, parents, change: { path, kind: 'file', size: meta.size, mtimeMs: meta.mtimeMs, sha256: meta.sha256, deleted: false } });
      } catch (err) {
        slot.error = asFosError(err);
      }
    }
    if (trashed) await ctx.trash.sync(user);
    return placing;
  }
}

/** A checked file on its way into place. */
interface Placing {
  readonly slot: Slot;
  readonly target: string;
  /** Folder entries its commit creates. */
  readonly parents: readonly Change[];
  readonly change: Change;
}

/**
 * The disk path of a file under the user's root, refusing symlinks as `resolveUnder` does:
 * each folder is resolved once per batch, the file itself is looked at with one lstat.
 * @throws FosError `FOS_ERR_PATH_BAD` for a link in the way, `FOS_ERR_STORE_WRITE`.
 */
async function targetOf(userRoot: string, path: string, resolved: Map<string, string>): Promise<string> {
  const folder = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  let disk = resolved.get(folder);
  if (disk === undefined) {
    disk = await resolveUnder(userRoot, folder);
    resolved.set(folder, disk);
  }
  const target = join(disk, basename(path));
  let isLink: boolean;
  try {
    // One cached dentry: cheaper than another trip through the thread pool, busy with fsyncs.
    isLink = lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink() === true;
  } catch (err) {
    throw storageError(err, `cannot inspect ${JSON.stringify(path)}`);
  }
  if (isLink) throw new FosError('FOS_ERR_PATH_BAD', `bad path ${JSON.stringify(path)}: it is a symbolic link, which fos never follows`, { details: { reason: 'symbolic link' } });
  return target;
}

/** Changes with each folder once (two files of a batch may create the same parent). */
function dedupe(changes: readonly Change[]): Change[] {
  const seen = new Set<string>();
  return changes.filter((change) => {
    if (seen.has(change.path)) return false;
    seen.add(change.path);
    return true;
  });
}

function resultOf(entries: ReadonlyMap<string, Entry>): (slot: Slot) => BatchResult {
  return (slot) => {
    if (slot.error !== null) return { error: slot.error };
    const entry = entries.get(slot.path);
    return entry === undefined ? { error: new FosError('FOS_ERR_STORE_CORRUPT', `the commit of ${JSON.stringify(slot.path)} returned no entry`) } : { entry };
  };
}

/** Removes a slot's partial file (if it is still there) and releases its key. */
async function drop(slot: Slot): Promise<void> {
  const { partPath, release } = slot;
  slot.release = null;
  slot.partPath = '';
  slot.chunks.length = 0;
  // Nothing to keep: a batch is never resumed, and a file that went into place is gone here.
  if (partPath !== '') await unlink(partPath).catch(() => undefined);
  release?.();
}
