/**
 * What the storage operations share: the layout, the store, the write seam, the trash, the
 * notice hub, and the helpers every change uses (resolving paths on disk, creating parent
 * folders, committing and announcing a change).
 */
import { dirname } from 'node:path';
import { FosError } from '../errors.js';
import { fsyncDir } from '../fs/atomic.js';
import { storageError } from '../fs/fs.js';
import type { Fs } from '../fs/fs.js';
import { resolveUnder } from '../fs/safe-root.js';
import type { Logger } from '../log/logger.js';
import type { Entry } from '../protocol/types.js';
import type { Change, Store } from '../store/types.js';
import { ancestorsOf, live } from './entry-rules.js';
import { userRoot } from './storage-layout.js';
import type { StorageLayout } from './storage-layout.js';
import type { TrashBin } from './trash-bin.js';
import type { Clock } from './types.js';
import type { WatchHub } from './watch-hub.js';

/** The parts every storage operation uses. */
export interface StorageContext {
  readonly layout: StorageLayout;
  readonly store: Store;
  readonly fs: Fs;
  readonly clock: Clock;
  readonly trash: TrashBin;
  readonly hub: WatchHub;
  readonly logger: Logger;
}

/**
 * The local path of a canonical remote path under the user's root, refusing symlinks.
 * @throws FosError `FOS_ERR_PATH_BAD` for an illegal path or a link in the way.
 */
export function diskPath(ctx: StorageContext, user: string, path: string): Promise<string> {
  return resolveUnder(userRoot(ctx.layout, user), path);
}

/**
 * The folder entries a new path needs (its ancestors that hold nothing live), after
 * checking that none of them is a file.
 * @throws FosError `FOS_ERR_PATH_EXISTS` when an ancestor is a file.
 */
export async function missingParents(ctx: StorageContext, user: string, path: string, now: number): Promise<Change[]> {
  const changes: Change[] = [];
  for (const folder of ancestorsOf(path)) {
    const entry = live(await ctx.store.getEntry(user, folder));
    if (entry === null) {
      changes.push({ path: folder, kind: 'dir', size: 0, mtimeMs: now, sha256: '', deleted: false });
    } else if (entry.kind === 'file') {
      throw new FosError('FOS_ERR_PATH_EXISTS', `${JSON.stringify(folder)} is a file, so ${JSON.stringify(path)} cannot be created`);
    }
  }
  return changes;
}

/**
 * Creates the folders above `target` on disk.
 * @throws FosError `FOS_ERR_STORE_NO_SPACE` or `FOS_ERR_STORE_WRITE`.
 */
export async function makeParents(ctx: StorageContext, target: string): Promise<void> {
  try {
    await ctx.fs.mkdirp(dirname(target));
  } catch (err) {
    throw storageError(err, 'cannot create the folder');
  }
}

/** fsyncs the folder holding `target`. */
export function syncParent(ctx: StorageContext, target: string): Promise<void> {
  return fsyncDir(dirname(target), { fs: ctx.fs });
}

/**
 * Commits changes under one new revision and tells the user's watchers.
 * @throws FosError from the store.
 */
export async function commitChanges(ctx: StorageContext, user: string, changes: readonly Change[]): Promise<Entry[]> {
  if (changes.length === 0) return [];
  const entries = await ctx.store.commit(user, changes, ctx.clock.now());
  const rev = entries[0]?.rev;
  if (rev !== undefined) ctx.hub.publish(user, rev, changes.map((change) => change.path));
  return entries;
}

/** The change that records `entry` as deleted. */
export function tombstoneOf(entry: Entry): Change {
  return { path: entry.path, kind: entry.kind, size: entry.size, mtimeMs: entry.mtimeMs, sha256: entry.sha256, deleted: true };
}
