/**
 * Files only their owner may read (private keys, known_hosts), written so that they are
 * never readable by others, not even for an instant, and never torn: created with mode
 * 0600 under a temporary name, fsynced, then renamed over the target.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FosError } from '../errors.js';
import { fsyncDir } from '../fs/atomic.js';
import { TEMP_PREFIX } from '../fs/remote-path.js';

/** Permission bits of a private file. */
export const PRIVATE_FILE_MODE = 0o600;

/** Permission bits of a folder holding private files. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates `dir` (and its parents) when missing; a new folder gets mode 0700.
 * @throws FosError `FOS_ERR_STORE_WRITE` when it cannot.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (err) {
    throw new FosError('FOS_ERR_STORE_WRITE', `cannot create folder ${dir}`, { cause: err });
  }
}

/**
 * Writes `data` to `path` with mode 0600, atomically: the old content or the new one,
 * never a mix. The folder must exist.
 * @throws FosError `FOS_ERR_STORE_WRITE` when the file cannot be written.
 */
export async function writePrivateFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  let created = false;
  try {
    const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
    created = true;
    try {
      // The umask can only remove bits, but a file system may ignore the mode argument.
      await handle.chmod(PRIVATE_FILE_MODE);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    created = false;
    await fsyncDir(dirname(path));
  } catch (err) {
    if (created) {
      // The write already failed, and that error is what the caller needs; a leftover
      // temporary file has a reserved name that nothing reads.
      await unlink(temp).catch(() => undefined);
    }
    throw new FosError('FOS_ERR_STORE_WRITE', `cannot write ${path}`, { cause: err });
  }
}

/**
 * Tightens an existing file to mode 0600 (a key copied in by hand with looser bits).
 * @throws FosError `FOS_ERR_STORE_WRITE` when it cannot.
 */
export async function restrictToOwner(path: string): Promise<void> {
  try {
    await chmod(path, PRIVATE_FILE_MODE);
  } catch (err) {
    throw new FosError('FOS_ERR_STORE_WRITE', `cannot restrict permissions of ${path}`, { cause: err });
  }
}
