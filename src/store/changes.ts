/**
 * Checks on a batch of changes before any store commits it, shared by every Store
 * implementation so that they refuse the same batches with the same codes.
 */
import { FosError } from '../errors.js';
import { isCanonicalRemotePath } from '../fs/remote-path.js';
import type { Change } from './types.js';

const SHA256_HEX = /^[0-9a-f]{64}$/u;

function bad(message: string): never {
  throw new FosError('FOS_ERR_STORE_WRITE', `cannot commit: ${message}`);
}

/**
 * Throws unless every change is well formed: a canonical, non-root path (see
 * `normalizeRemotePath`), a known kind, a non-negative integer size, a finite mtime, a
 * lower-case hex SHA-256 for a live file ('' allowed for folders and tombstones), and no
 * path twice in one batch.
 * @throws FosError `FOS_ERR_PATH_BAD` for a path that is not canonical, `FOS_ERR_STORE_WRITE`
 * for any other malformed change.
 */
export function checkChanges(changes: readonly Change[]): void {
  const seen = new Set<string>();
  for (const change of changes) {
    if (change.path === '' || !isCanonicalRemotePath(change.path)) {
      throw new FosError('FOS_ERR_PATH_BAD', `cannot commit: ${JSON.stringify(change.path)} is not a canonical remote path`);
    }
    if (seen.has(change.path)) bad(`${JSON.stringify(change.path)} appears twice in one commit`);
    seen.add(change.path);
    if (change.kind !== 'file' && change.kind !== 'dir') bad(`unknown kind ${JSON.stringify(change.kind)}`);
    if (!Number.isSafeInteger(change.size) || change.size < 0) bad(`bad size ${String(change.size)}`);
    if (!Number.isFinite(change.mtimeMs)) bad(`bad mtime ${String(change.mtimeMs)}`);
    const needsHash = change.kind === 'file' && !change.deleted;
    if (needsHash ? !SHA256_HEX.test(change.sha256) : change.sha256 !== '' && !SHA256_HEX.test(change.sha256)) {
      bad(`bad sha256 for ${JSON.stringify(change.path)}`);
    }
  }
}

/** The folder part of a canonical path: '' for a top-level name. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/**
 * The half-open range [low, high) of paths strictly below `folder` in UTF-8 byte order:
 * every such path starts with `folder + '/'`, and '0' is the character right after '/', so
 * `a/...` falls in ['a/', 'a0') while `ab/...` does not.
 */
export function subtreeRange(folder: string): { readonly low: string; readonly high: string } {
  return { low: `${folder}/`, high: `${folder}0` };
}
