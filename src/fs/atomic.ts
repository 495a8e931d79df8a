/**
 * Crash-safe writes: a file either keeps its old content or has the complete new content,
 * never a torn mix, and a rename survives a power cut once the call returns.
 * DESIGN.md "Server storage": write to a temporary name, fsync, rename into place.
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { TEMP_PREFIX } from './remote-path.js';
import { nodeFs, storageError } from './fs.js';
import type { Fs } from './fs.js';

/** Options shared by the atomic helpers. */
export interface AtomicOptions {
  /** The filesystem to write through; `nodeFs` by default (tests inject faults here). */
  readonly fs?: Fs;
}

/** A fresh temporary name in `dir`, which fos's path rules never allow as a remote name. */
export function tempPathIn(dir: string): string {
  return join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
}

/**
 * fsync a directory so that names created or renamed in it are durable.
 * @throws FosError `FOS_ERR_STORE_WRITE` (or `FOS_ERR_PATH_NOT_FOUND`) when it cannot.
 */
export async function fsyncDir(dir: string, options: AtomicOptions = {}): Promise<void> {
  const fs = options.fs ?? nodeFs;
  try {
    await fs.syncDir(dir);
  } catch (err) {
    throw storageError(err, `cannot sync folder ${dir}`);
  }
}

/**
 * Writes `data` to `path` atomically: a `.fos-tmp-<random>` file in the same folder is
 * written, fsynced and renamed over `path`, then the folder is fsynced. On failure the
 * temporary file is removed and `path` is untouched.
 * @throws FosError `FOS_ERR_STORE_NO_SPACE` when the disk is full, `FOS_ERR_PATH_NOT_FOUND`
 * when the folder is missing, `FOS_ERR_STORE_WRITE` otherwise.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: AtomicOptions = {},
): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const dir = dirname(path);
  const temp = tempPathIn(dir);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let created = false;
  try {
    const file = await fs.openForWrite(temp, 'exclusive');
    created = true;
    try {
      await file.write(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(temp, path);
    created = false;
    await fs.syncDir(dir);
  } catch (err) {
    if (created) await removeQuietly(fs, temp);
    throw storageError(err, `cannot write ${basename(path)}`);
  }
}

/**
 * Renames `from` to `to` and fsyncs the destination folder (and the source folder when it
 * differs), so the move is durable when this resolves. Replaces an existing file at `to`.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND` when `from` is missing, `FOS_ERR_STORE_WRITE`
 * otherwise.
 */
export async function renameDurable(from: string, to: string, options: AtomicOptions = {}): Promise<void> {
  const fs = options.fs ?? nodeFs;
  try {
    await fs.rename(from, to);
    await fs.syncDir(dirname(to));
    if (dirname(from) !== dirname(to)) await fs.syncDir(dirname(from));
  } catch (err) {
    throw storageError(err, `cannot move ${basename(from)} to ${basename(to)}`);
  }
}

async function removeQuietly(fs: Fs, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch {
    // The write already failed and that error is what the caller needs; a leftover
    // temporary file is harmless: its reserved name is never a legal remote path.
  }
}
