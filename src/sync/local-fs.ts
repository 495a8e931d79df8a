/**
 * The executor's local file-system steps: check that a path still holds what the scan
 * saw, create folders, rename without overwriting, and place a download without
 * clobbering a file that appeared meanwhile. Nothing here deletes: removals go through
 * the local trash (trash.ts).
 */
import type { Stats } from 'node:fs';
import { link, lstat, mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FosError, errnoCode } from '../errors.js';
import { TEMP_PREFIX } from '../fs/remote-path.js';
import type { LocalState } from './types.js';

/** The absolute local path of a relative, '/'-separated disk path under `root`. */
export function localPath(root: string, diskPath: string): string {
  return diskPath === '' ? root : join(root, ...diskPath.split('/'));
}

const ASCII = /^[\x00-\x7f]*$/u;

/**
 * The forms a name may have on disk: as given, NFC and NFD. Sync paths are NFC, while a
 * name made on macOS (or copied from there) is NFD on disk; the two are one name.
 */
function nameForms(name: string): string[] {
  return ASCII.test(name) ? [name] : [...new Set([name, name.normalize('NFC'), name.normalize('NFD')])];
}

/**
 * The disk path of a sync path under `root`: each segment in the form it has on disk when
 * it exists there in one (NFC, NFD), as given from the first segment that does not exist.
 * So a file arriving from the server lands in the folder that is there under an NFD name,
 * not in a second folder beside it that differs only in normalization.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO` when a path on the way cannot be examined.
 */
export async function diskPathOf(root: string, syncPath: string): Promise<string> {
  if (ASCII.test(syncPath)) return syncPath;
  const segments = syncPath.split('/');
  let disk = '';
  for (const [i, segment] of segments.entries()) {
    let found: string | null = null;
    for (const form of nameForms(segment)) {
      const candidate = disk === '' ? form : `${disk}/${form}`;
      if ((await lstatOrNull(localPath(root, candidate))) !== null) {
        found = candidate;
        break;
      }
    }
    if (found === null) return [disk, ...segments.slice(i)].filter((part) => part !== '').join('/');
    disk = found;
  }
  return disk;
}

/**
 * Every disk path a sync path exists under: its folder resolved as `diskPathOf` does, and
 * each form of its last name that is there (two forms of one name can sit side by side on
 * a Linux disk; the scan must see both to report the collision).
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO` when a path on the way cannot be examined.
 */
export async function diskPathsOf(root: string, syncPath: string): Promise<string[]> {
  const slash = syncPath.lastIndexOf('/');
  const parent = slash === -1 ? '' : await diskPathOf(root, syncPath.slice(0, slash));
  const out: string[] = [];
  for (const form of nameForms(syncPath.slice(slash + 1))) {
    const candidate = parent === '' ? form : `${parent}/${form}`;
    if ((await lstatOrNull(localPath(root, candidate))) !== null) out.push(candidate);
  }
  return out;
}

/** lstat, or null when nothing is there. @throws FosError `FOS_ERR_SYNC_LOCAL_IO`. */
export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw localError(err, `cannot read ${path}`);
  }
}

/**
 * True when `path` still holds what the scan saw: the same kind and, for a file, the
 * same size and mtime (the scanner's "unchanged" key).
 */
export async function stillMatches(path: string, expect: LocalState): Promise<boolean> {
  const stats = await lstatOrNull(path);
  if (stats === null) return false;
  if (expect.kind === 'dir') return stats.isDirectory();
  return stats.isFile() && stats.size === expect.size && sameMtime(stats.mtimeMs, expect.mtimeMs);
}

/** mtimes agree to the millisecond (file systems and JSON differ below that). */
export function sameMtime(a: number, b: number): boolean {
  return Math.floor(a) === Math.floor(b);
}

/** Creates a folder and its parents; an existing folder is fine. @throws FosError when a file is in the way. */
export async function ensureDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw localError(err, `cannot create folder ${path}`);
  }
}

/**
 * Renames `from` to `to` only when `to` does not exist; returns false when it does. The
 * check and the rename are two steps, so a file created in between by another program
 * could still be replaced; for files, `placeNew` closes that gap.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO`.
 */
export async function renameNoClobber(from: string, to: string): Promise<boolean> {
  if ((await lstatOrNull(to)) !== null) return false;
  await ensureDir(dirname(to));
  try {
    await rename(from, to);
  } catch (err) {
    throw localError(err, `cannot rename ${from} to ${to}`);
  }
  return true;
}

/**
 * Moves a finished download `staged` to `target`, which must not exist: a hard link fails
 * atomically when something appeared at `target`, so no file is ever replaced. Returns
 * false (and keeps `staged`) when `target` is taken.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO`.
 */
export async function placeNew(staged: string, target: string): Promise<boolean> {
  try {
    await link(staged, target);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return false;
    // File systems without hard links: the check-then-rename fallback.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV') return renameNoClobber(staged, target);
    throw localError(err, `cannot move the download into ${target}`);
  }
  await unlinkQuietly(staged);
  return true;
}

/** Replaces `target` with `staged`. @throws FosError `FOS_ERR_SYNC_LOCAL_IO`. */
export async function placeOver(staged: string, target: string): Promise<void> {
  try {
    await rename(staged, target);
  } catch (err) {
    throw localError(err, `cannot move the download into ${target}`);
  }
}

/** The name a download is staged under before it is placed: hidden, ignored, resumable. */
export function stagingPath(target: string, sha256: string): string {
  return join(dirname(target), `${TEMP_PREFIX}dl-${sha256.slice(0, 16)}-${basename(target).slice(0, 80)}`);
}

/** Removes a file; gone already is fine. @throws FosError `FOS_ERR_SYNC_LOCAL_IO`. */
export async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw localError(err, `cannot remove ${path}`);
  }
}

/**
 * The relative disk paths of everything inside a local folder ('/'-separated), deepest
 * last. Symlinks are listed, never followed.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO`.
 */
export async function listTree(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(localPath(root, rel));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw localError(err, `cannot list ${localPath(root, rel)}`);
    }
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      out.push(child);
      const stats = await lstatOrNull(localPath(root, child));
      if (stats?.isDirectory() === true) await walk(child);
    }
  };
  await walk(dir);
  return out;
}

/** A local I/O failure as a FosError naming what was being done. */
export function localError(err: unknown, action: string): FosError {
  if (err instanceof FosError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new FosError('FOS_ERR_SYNC_LOCAL_IO', `${action}: ${why}`, { cause: err, details: { errno: errnoCode(err) ?? null } });
}
