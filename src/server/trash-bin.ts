/**
 * The trash: overwritten and deleted versions move to `trash/<user>/<id>` with a record,
 * and are purged after the retention period (DESIGN.md "Server storage": no sync mistake
 * destroys data for good). The records are also the history `fos restore` rebuilds a
 * folder from: each says when its version became current and when it stopped being so.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FosError, errnoCode } from '../errors.js';
import { fsyncDir } from '../fs/atomic.js';
import { storageError } from '../fs/fs.js';
import type { Fs } from '../fs/fs.js';
import { copyFileHashed } from '../fs/hash.js';
import type { CommittedEntry, Store, TrashRecord } from '../store/types.js';
import { userFolderName, userTrash } from './storage-layout.js';
import type { StorageLayout } from './storage-layout.js';

/** What the trash needs. */
export interface TrashBinOptions {
  readonly layout: StorageLayout;
  readonly store: Store;
  readonly fs: Fs;
}

/** Moves versions into the trash and purges old ones. */
export class TrashBin {
  readonly #layout: StorageLayout;
  readonly #store: Store;
  readonly #fs: Fs;

  constructor(options: TrashBinOptions) {
    this.#layout = options.layout;
    this.#store = options.store;
    this.#fs = options.fs;
  }

  /**
   * Moves the file of `entry` (at `diskPath`) into the user's trash and records it.
   * Returns null when the file is no longer on disk (removed by hand): nothing to keep.
   * @throws FosError `FOS_ERR_STORE_WRITE` when the rename fails for another reason.
   */
  async keep(user: string, entry: CommittedEntry, diskPath: string, now: number): Promise<TrashRecord | null> {
    const id = await this.#place(user, entry, now, (to) => this.#fs.rename(diskPath, to));
    return id === null ? null : this.#record(user, entry, id, now);
  }

  /**
   * Keeps a copy of the file of `entry` (at `diskPath`, which stays where it is) in the
   * trash, with a record saying the version stopped being current at `now` under its path:
   * what a MOVE leaves behind, so that a restore to before the move finds the old name.
   * The copy is a hard link (uploads and trash are never written in place, so the two
   * names cannot drift apart), or a real copy where the filesystem has no hard links.
   * Returns null when the file is not on disk.
   * @throws FosError `FOS_ERR_STORE_WRITE` or `FOS_ERR_STORE_NO_SPACE` when it cannot.
   */
  async keepCopy(user: string, entry: CommittedEntry, diskPath: string, now: number): Promise<TrashRecord | null> {
    const id = await this.#place(user, entry, now, async (to) => {
      try {
        await this.#fs.link(diskPath, to);
      } catch (err) {
        if (!NO_LINK_CODES.has(errnoCode(err) ?? '')) throw err;
        await copyFileHashed(diskPath, to, { fs: this.#fs });
      }
    });
    return id === null ? null : this.#record(user, entry, id, now);
  }

  /** Runs `put` to make `trash/<user>/<id>`; the id, or null when the source was gone. */
  async #place(user: string, entry: CommittedEntry, now: number, put: (to: string) => Promise<void>): Promise<string | null> {
    const folder = userTrash(this.#layout, user);
    const id = `${now}-${randomBytes(6).toString('hex')}`;
    try {
      await this.#fs.mkdirp(folder);
      await put(join(folder, id));
    } catch (err) {
      if (isMissing(err)) return null;
      throw storageError(err, `cannot move ${JSON.stringify(entry.path)} to the trash`);
    }
    return id;
  }

  async #record(user: string, entry: CommittedEntry, id: string, now: number): Promise<TrashRecord> {
    const record: TrashRecord = {
      id,
      user,
      path: entry.path,
      size: entry.size,
      mtimeMs: entry.mtimeMs,
      sha256: entry.sha256,
      rev: entry.rev,
      validFrom: entry.committedAt,
      trashedAt: now,
      storedAs: `${userFolderName(user)}/${id}`,
    };
    await this.#store.addTrash(record);
    return record;
  }

  /**
   * Moves a whole folder (the files of an account being removed) into the trash. No record
   * is kept (the account's records go with it); the folder's name starts with the time it
   * was trashed, and `purge` removes it after the retention period like any kept version.
   * Returns the folder's location relative to `trash/`, or null when there was nothing.
   * @throws FosError `FOS_ERR_STORE_WRITE` when the rename fails.
   */
  async keepFolder(user: string, folderPath: string, now: number): Promise<string | null> {
    const folder = userTrash(this.#layout, user);
    const id = `${now}-${randomBytes(6).toString('hex')}-account`;
    try {
      await this.#fs.mkdirp(folder);
      await this.#fs.rename(folderPath, join(folder, id));
      await fsyncDir(folder, { fs: this.#fs });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw storageError(err, `cannot move the files of ${JSON.stringify(user)} to the trash`);
    }
    return `${userFolderName(user)}/${id}`;
  }

  /** fsyncs the user's trash folder after a batch of `keep` calls. */
  async sync(user: string): Promise<void> {
    await fsyncDir(userTrash(this.#layout, user), { fs: this.#fs });
  }

  /**
   * Where the file of a kept version is, or null for a record that points outside the
   * trash (never written by fos; such a record is skipped, not followed).
   */
  fileOf(record: TrashRecord): string | null {
    const target = resolve(this.#layout.trash, record.storedAs);
    const rel = relative(this.#layout.trash, target);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
    return target;
  }

  /** Kept versions of a user under a folder (`''` for all). */
  list(user: string, prefix: string): Promise<TrashRecord[]> {
    return this.#store.listTrash(user, prefix);
  }

  /**
   * Removes versions trashed before `before`: first those the store has records of, then
   * anything in `trash/<user>/` whose name says it was trashed before then (the files of
   * removed accounts, and versions whose record a crash lost). Returns how many went.
   * @throws FosError from the store; file removal errors other than "already gone" too.
   */
  async purge(before: number): Promise<number> {
    const records = await this.#store.purgeTrash(before);
    for (const record of records) {
      const target = this.fileOf(record);
      if (target !== null) await rm(target, { recursive: true, force: true });
    }
    let swept = 0;
    for (const user of await namesIn(this.#layout.trash)) {
      const folder = join(this.#layout.trash, user);
      for (const name of await namesIn(folder)) {
        const trashedAt = Number(TRASHED_AT.exec(name)?.[1] ?? Number.NaN);
        if (!(trashedAt < before)) continue;
        await rm(join(folder, name), { recursive: true, force: true });
        swept += 1;
      }
    }
    return Math.max(records.length, swept);
  }
}

/** Errors of link(2) that mean "no hard links here", so a real copy is made instead. */
const NO_LINK_CODES: ReadonlySet<string> = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** True for "the file is not there", raw or already wrapped by a copy. */
function isMissing(err: unknown): boolean {
  return errnoCode(err) === 'ENOENT' || (err instanceof FosError && err.code === 'FOS_ERR_PATH_NOT_FOUND');
}

/** Trash ids start with the time the version was trashed. */
const TRASHED_AT = /^(\d{1,16})-/u;

async function namesIn(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}
