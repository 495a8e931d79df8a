/**
 * The changes a user makes to their files: commit an upload, create a folder, delete,
 * move. Each runs under the user's lock: check the base revision, change the disk, commit
 * the metadata in one transaction.
 */
import { lstat, rmdir } from 'node:fs/promises';
import { FosError, errnoCode } from '../errors.js';
import { storageError } from '../fs/fs.js';
import type { Entry } from '../protocol/types.js';
import type { Change, CommittedEntry, Usage } from '../store/types.js';
import { checkBaseRev, isAtOrUnder, live, notFound, rebase } from './entry-rules.js';
import {
  commitChanges,
  diskPath,
  makeParents,
  missingParents,
  syncParent,
  tombstoneOf,
} from './storage-context.js';
import type { StorageContext } from './storage-context.js';
import type { Quota, UploadMeta, UploadStart } from './types.js';

/**
 * Checks that an upload may replace what is at its path: base revision, a folder in the
 * way, a file among the parents, the quota.
 * @throws FosError `FOS_ERR_STORE_CONFLICT`, `FOS_ERR_PATH_EXISTS`, `FOS_ERR_STORE_QUOTA`.
 */
export async function checkUpload(ctx: StorageContext, user: string, path: string, meta: UploadStart, quota: Quota): Promise<void> {
  const current = await ctx.store.getEntry(user, path);
  checkBaseRev(path, current, meta.baseRev);
  const existing = live(current);
  if (existing?.kind === 'dir') {
    throw new FosError('FOS_ERR_PATH_EXISTS', `${JSON.stringify(path)} is a folder`);
  }
  await missingParents(ctx, user, path, 0);
  if (quota.quotaBytes === null && quota.quotaFiles === null) return;
  usageAfterUpload(await ctx.store.usage(user), existing, meta.size, quota);
}

/**
 * The account's usage once a file of `size` bytes replaces `existing` (null: a new file).
 * @throws FosError `FOS_ERR_STORE_QUOTA` when that goes over the quota.
 */
export function usageAfterUpload(usage: Usage, existing: Entry | null, size: number, quota: Quota): Usage {
  const bytes = usage.bytes - (existing?.size ?? 0) + size;
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
  return { bytes, files };
}

/**
 * Moves a verified partial file into place: checks again under the lock, keeps the old
 * version in the trash, renames, commits.
 * @throws FosError as `checkUpload`, and storage errors.
 */
export async function commitUpload(
  ctx: StorageContext,
  user: string,
  path: string,
  meta: UploadMeta,
  quota: Quota,
  partPath: string,
): Promise<Entry> {
  return ctx.store.withUserLock(user, async () => {
    await checkUpload(ctx, user, path, meta, quota);
    const now = ctx.clock.now();
    const parents = await missingParents(ctx, user, path, now);
    const target = await diskPath(ctx, user, path);
    // checkUpload refused a folder at the path, so this lists the file alone, if any.
    const [existing] = await ctx.store.listCommitted(user, path);
    if (existing !== undefined && (await ctx.trash.keep(user, existing, target, now)) !== null) await ctx.trash.sync(user);
    await makeParents(ctx, target);
    try {
      await ctx.fs.rename(partPath, target);
    } catch (err) {
      throw storageError(err, `cannot move ${JSON.stringify(path)} into place`);
    }
    await syncParent(ctx, target);
    const change: Change = { path, kind: 'file', size: meta.size, mtimeMs: meta.mtimeMs, sha256: meta.sha256, deleted: false };
    const entries = await commitChanges(ctx, user, [...parents, change]);
    const entry = entries.find((e) => e.path === path);
    if (entry === undefined) throw new FosError('FOS_ERR_STORE_CORRUPT', `the commit of ${JSON.stringify(path)} returned no entry`);
    return entry;
  });
}

/**
 * Creates a folder (and the folders above it).
 * @throws FosError `FOS_ERR_PATH_EXISTS` when something lives at the path or a parent is a file.
 */
export async function makeFolder(ctx: StorageContext, user: string, path: string, mtimeMs: number | undefined): Promise<Entry> {
  if (path === '') throw new FosError('FOS_ERR_PATH_EXISTS', 'the root folder always exists');
  return ctx.store.withUserLock(user, async () => {
    if (live(await ctx.store.getEntry(user, path)) !== null) {
      throw new FosError('FOS_ERR_PATH_EXISTS', `${JSON.stringify(path)} already exists`);
    }
    const now = ctx.clock.now();
    const parents = await missingParents(ctx, user, path, now);
    const target = await diskPath(ctx, user, path);
    try {
      await ctx.fs.mkdirp(target);
    } catch (err) {
      throw storageError(err, `cannot create ${JSON.stringify(path)}`);
    }
    await syncParent(ctx, target);
    const change: Change = { path, kind: 'dir', size: 0, mtimeMs: mtimeMs ?? now, sha256: '', deleted: false };
    const entries = await commitChanges(ctx, user, [...parents, change]);
    const entry = entries.find((e) => e.path === path);
    if (entry === undefined) throw new FosError('FOS_ERR_STORE_CORRUPT', `the commit of ${JSON.stringify(path)} returned no entry`);
    return entry;
  });
}

/**
 * Deletes a file, or a folder with `recursive` (every file in it goes to the trash).
 * Returns the tombstones.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_STORE_CONFLICT`,
 * `FOS_ERR_PATH_NOT_EMPTY` for a folder with content and no `recursive`.
 */
export async function removePath(
  ctx: StorageContext,
  user: string,
  path: string,
  baseRev: number | null | undefined,
  recursive: boolean,
): Promise<Entry[]> {
  if (path === '') throw new FosError('FOS_ERR_PATH_BAD', 'the root folder cannot be deleted', { details: { reason: 'root' } });
  return ctx.store.withUserLock(user, async () => {
    const current = await ctx.store.getEntry(user, path);
    checkBaseRev(path, current, baseRev);
    const entry = live(current);
    if (entry === null) throw notFound(path);
    const now = ctx.clock.now();
    const target = await diskPath(ctx, user, path);
    const all = await ctx.store.listCommitted(user, path);
    const inside = all.filter((e) => e.path !== path);
    if (inside.length > 0 && !recursive) {
      throw new FosError('FOS_ERR_PATH_NOT_EMPTY', `${JSON.stringify(path)} is a folder with ${inside.length} entries; delete it with recursive`);
    }
    await trashEntries(ctx, user, all, now);
    await syncParent(ctx, target);
    return commitChanges(ctx, user, [...inside, entry].map(tombstoneOf));
  });
}

/**
 * Moves the files of `entries` into the trash and removes their folders from disk, deepest
 * first; the caller commits the tombstones. Runs under the user's lock. A folder still
 * holding a file nobody committed (copied in by hand) stays on disk, and the next start-up
 * reconciliation reports that file.
 * @throws FosError storage errors.
 */
export async function trashEntries(ctx: StorageContext, user: string, entries: readonly CommittedEntry[], now: number): Promise<void> {
  let kept = false;
  for (const entry of entries) {
    if (entry.kind !== 'file') continue;
    await ctx.trash.keep(user, entry, await diskPath(ctx, user, entry.path), now);
    kept = true;
  }
  if (kept) await ctx.trash.sync(user);
  const folders = entries.filter((e) => e.kind === 'dir').sort((a, b) => b.path.length - a.path.length);
  for (const folder of folders) await removeEmptyDir(await diskPath(ctx, user, folder.path));
}

/**
 * Renames a file or a whole folder. Returns the new entries.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PATH_EXISTS`, `FOS_ERR_STORE_CONFLICT`,
 * `FOS_ERR_PATH_BAD` for a move into itself or of the root.
 */
export async function movePath(
  ctx: StorageContext,
  user: string,
  from: string,
  to: string,
  baseRev: number | null | undefined,
): Promise<Entry[]> {
  if (from === '' || to === '') {
    throw new FosError('FOS_ERR_PATH_BAD', 'the root folder cannot be moved', { details: { reason: 'root' } });
  }
  if (isAtOrUnder(from, to)) {
    throw new FosError('FOS_ERR_PATH_BAD', `cannot move ${JSON.stringify(from)} into itself`, { details: { reason: 'into itself' } });
  }
  return ctx.store.withUserLock(user, async () => {
    const current = await ctx.store.getEntry(user, from);
    checkBaseRev(from, current, baseRev);
    const entry = live(current);
    if (entry === null) throw notFound(from);
    if (live(await ctx.store.getEntry(user, to)) !== null) {
      throw new FosError('FOS_ERR_PATH_EXISTS', `${JSON.stringify(to)} already exists`);
    }
    const now = ctx.clock.now();
    const parents = await missingParents(ctx, user, to, now);
    const source = await diskPath(ctx, user, from);
    const target = await diskPath(ctx, user, to);
    if (await exists(target)) {
      throw new FosError('FOS_ERR_PATH_EXISTS', `${JSON.stringify(to)} exists on disk`);
    }
    // The entry itself first, then everything under it.
    const moved = await ctx.store.listCommitted(user, from);
    // The old names keep their versions in the trash, so a restore to before the move
    // finds them (a MOVE replaces no version, but it ends one under its old path).
    const files = moved.filter((e) => e.kind === 'file');
    for (const file of files) await ctx.trash.keepCopy(user, file, await diskPath(ctx, user, file.path), now);
    if (files.length > 0) await ctx.trash.sync(user);
    await makeParents(ctx, target);
    try {
      await ctx.fs.rename(source, target);
    } catch (err) {
      throw storageError(err, `cannot move ${JSON.stringify(from)}`);
    }
    await syncParent(ctx, target);
    await syncParent(ctx, source);
    const changes: Change[] = [
      ...parents,
      ...moved.map((e) => ({ ...tombstoneOf(e), path: rebase(e.path, from, to), deleted: false })),
      ...moved.map(tombstoneOf),
    ];
    const entries = await commitChanges(ctx, user, changes);
    return entries.filter((e) => !e.deleted && moved.some((m) => rebase(m.path, from, to) === e.path));
  });
}

/**
 * Removes a folder on disk if it is empty; one that is gone already, or still holds files
 * nobody committed, is left as it is.
 * @throws FosError `FOS_ERR_STORE_WRITE` for any other failure.
 */
export async function removeEmptyDir(path: string): Promise<void> {
  try {
    await rmdir(path);
  } catch (err) {
    const code = errnoCode(err);
    // Already gone, or still holding files nobody committed: both are fine to leave.
    if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return;
    throw storageError(err, 'cannot remove the folder');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw storageError(err, 'cannot inspect the target');
  }
}
