/**
 * Resolving a remote path to a local path under a root folder (a user's uploads or trash
 * folder), checked after resolution (DESIGN.md "Security": symlinks inside the store are
 * never followed out).
 */
import { lstat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { FosError, errnoCode } from '../errors.js';
import { normalizeRemotePath } from './remote-path.js';

/**
 * The local path of remote path `relPath` under `root`. The path is normalised by the
 * remote path rules, and every component that exists below `root` is checked with lstat:
 * a symbolic link anywhere (the last component included) is refused, so a link planted in
 * the store can never lead a read or a write outside it. Components that do not exist yet
 * are fine (an upload creates them). `root` itself is trusted and may be a link.
 *
 * The check and the later use are separate system calls; the store's folders are written
 * only by the server, so nobody else can swap a component in between.
 * @throws FosError `FOS_ERR_PATH_BAD` for an illegal path or a symbolic link,
 * `FOS_ERR_STORE_WRITE` when a component cannot be inspected (permissions, I/O).
 */
export async function resolveUnder(root: string, relPath: string): Promise<string> {
  const remote = normalizeRemotePath(relPath);
  const base = resolve(root);
  if (remote === '') return base;
  const segments = remote.split('/');
  const full = join(base, ...segments);
  const rel = relative(base, full);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || resolve(base, rel) !== full) {
    throw new FosError('FOS_ERR_PATH_BAD', `bad path ${JSON.stringify(remote)}: resolves outside the root`);
  }
  let current = base;
  for (const segment of segments) {
    current = join(current, segment);
    let isLink: boolean;
    try {
      isLink = (await lstat(current)).isSymbolicLink();
    } catch (err) {
      const code = errnoCode(err);
      // Nothing exists from here on (ENOTDIR: a file where a folder would be), so there is
      // no link further down to follow either.
      if (code === 'ENOENT' || code === 'ENOTDIR') return full;
      throw new FosError('FOS_ERR_STORE_WRITE', `cannot inspect ${JSON.stringify(remote)}: ${String(code)}`, {
        cause: err,
      });
    }
    if (isLink) {
      throw new FosError(
        'FOS_ERR_PATH_BAD',
        `bad path ${JSON.stringify(remote)}: ${JSON.stringify(relative(base, current))} is a symbolic link, which fos never follows`,
        { details: { reason: 'symbolic link' } },
      );
    }
  }
  return full;
}
