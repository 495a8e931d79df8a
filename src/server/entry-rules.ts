/**
 * Rules about entries that every change checks: base revisions, folders in the way, and
 * the folders a new path needs. Pure: entries in, decisions out.
 */
import { FosError } from '../errors.js';
import type { Entry } from '../protocol/types.js';

/** The entry when it is live, null for a tombstone or nothing. */
export function live(entry: Entry | null): Entry | null {
  return entry !== null && !entry.deleted ? entry : null;
}

/**
 * Checks a change's base revision against the entry now stored at its path.
 * `undefined`: unconditional. `null`: the path must be free (absent or deleted). A number:
 * the entry (live or tombstone) must still be at that revision.
 * @throws FosError `FOS_ERR_STORE_CONFLICT` with `details.rev` (the current revision, or
 * null when the path never existed).
 */
export function checkBaseRev(path: string, current: Entry | null, baseRev: number | null | undefined): void {
  if (baseRev === undefined) return;
  const ok = baseRev === null ? live(current) === null : current !== null && current.rev === baseRev;
  if (ok) return;
  const rev = current === null ? null : current.rev;
  const now = current === null ? 'does not exist' : current.deleted ? `was deleted at revision ${current.rev}` : `is at revision ${current.rev}`;
  const wanted = baseRev === null ? 'expected it not to exist' : `expected revision ${baseRev}`;
  throw new FosError('FOS_ERR_STORE_CONFLICT', `${JSON.stringify(path)} ${now}; ${wanted}`, { details: { rev } });
}

/** Every folder above a canonical path, top first: `a/b/c` → `a`, `a/b`. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i += 1) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** True when `path` is `folder` itself or lies below it (`''` holds everything). */
export function isAtOrUnder(folder: string, path: string): boolean {
  if (folder === '') return true;
  return path === folder || (path.startsWith(folder) && path[folder.length] === '/');
}

/** `path` with its leading `from` folder replaced by `to` (for a folder move). */
export function rebase(path: string, from: string, to: string): string {
  return path === from ? to : `${to}${path.slice(from.length)}`;
}

/** A FosError for a path that holds nothing live. */
export function notFound(path: string): FosError {
  return new FosError('FOS_ERR_PATH_NOT_FOUND', `${JSON.stringify(path)} does not exist`);
}
