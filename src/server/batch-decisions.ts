/**
 * Deciding a held batch (issue 11). Everything runs under the user's lock and ends in at
 * most one commit, so every device sees the decision as one change.
 *
 * - approve, side `remote`: the items still at their held revision are deleted (files to
 *   the trash as every delete does); a file changed meanwhile is kept, the modification
 *   wins. The commit's revision is recorded so other devices can tell these deletions
 *   from new ones.
 * - approve, side `local`: only marked; the device that held them carries them out.
 * - reject, side `remote`: the server never lost them, so nothing changes here; the device
 *   that deleted them learns of the rejection on its next pass and downloads them again.
 *   (Committing them again unchanged would not do: reconcile compares content, and a new
 *   revision of the same content is no change to act on.)
 * - reject, side `local`: the server lost them; each is restored from the trash under its
 *   old path, so every device keeps or gets it back.
 *
 * A decision that commits nothing still publishes a notice, so running agents act at once.
 */
import { dirname } from 'node:path';
import { FosError } from '../errors.js';
import { fsyncDir, tempPathIn } from '../fs/atomic.js';
import { storageError } from '../fs/fs.js';
import { copyFileHashed } from '../fs/hash.js';
import type { DeletionBatch, DeletionItem, Entry } from '../protocol/types.js';
import type { Change, CommittedEntry, TrashRecord } from '../store/types.js';
import { ancestorsOf, live } from './entry-rules.js';
import { trashEntries } from './storage-changes.js';
import { commitChanges, diskPath, makeParents, syncParent, tombstoneOf } from './storage-context.js';
import type { StorageContext } from './storage-context.js';

/** What a decision did: the batch as it is now, items acted on, items left as they were. */
export interface Decision {
  readonly batch: DeletionBatch;
  /** Items deleted, recommitted or restored (approve `local`: items the device will delete). */
  readonly done: number;
  /** Items left alone: changed since they were held, or (reject `local`) no longer in the trash. */
  readonly kept: number;
}

/**
 * Approves a held batch.
 * @throws FosError `FOS_ERR_SYNC_NO_BATCH`, `FOS_ERR_SYNC_BATCH_RESOLVED` (with `state` and
 * `successor` in the details), storage errors.
 */
export function approveBatch(ctx: StorageContext, user: string, id: string): Promise<Decision> {
  return ctx.store.withUserLock(user, async () => {
    const batch = await pendingBatch(ctx, user, id);
    const now = ctx.clock.now();
    if (batch.side === 'local') return settle(ctx, user, batch, { state: 'approved', resolvedAt: now }, [], batch.count);
    const items = await ctx.store.listDeletionItems(user, batch.id);
    const current = await liveUnder(ctx, user, batch.folder);
    const doomed = deletable(items, current);
    await trashEntries(ctx, user, doomed, now);
    await syncParents(ctx, user, doomed);
    const entries = await commitChanges(ctx, user, doomed.map(tombstoneOf));
    const commitRev = entries[0]?.rev ?? null;
    ctx.logger.info({ user, batch: batch.id, deleted: doomed.length, kept: items.length - doomed.length, rev: commitRev }, 'held deletions approved');
    return settle(ctx, user, batch, { state: 'approved', resolvedAt: now, commitRev }, entries, doomed.length, items.length);
  });
}

/**
 * Rejects a held batch.
 * @throws FosError as `approveBatch` does.
 */
export function rejectBatch(ctx: StorageContext, user: string, id: string): Promise<Decision> {
  return ctx.store.withUserLock(user, async () => {
    const batch = await pendingBatch(ctx, user, id);
    const now = ctx.clock.now();
    const items = await ctx.store.listDeletionItems(user, batch.id);
    const changes = batch.side === 'remote' ? await stillThere(ctx, user, batch, items) : await restores(ctx, user, items, now);
    const entries = await commitChanges(ctx, user, changes.changes);
    ctx.logger.info({ user, batch: batch.id, side: batch.side, done: changes.done, kept: items.length - changes.done }, 'held deletions rejected');
    return settle(ctx, user, batch, { state: 'rejected', resolvedAt: now }, entries, changes.done, items.length);
  });
}

/** The batch when it is still held; the errors people see otherwise. */
async function pendingBatch(ctx: StorageContext, user: string, id: string): Promise<DeletionBatch> {
  const batch = await ctx.store.getDeletionBatch(user, id);
  if (batch === null) throw new FosError('FOS_ERR_SYNC_NO_BATCH', `no held batch ${id}`);
  if (batch.state === 'held') return batch;
  const details = { state: batch.state, successor: batch.successor };
  if (batch.state === 'superseded') {
    throw new FosError(
      'FOS_ERR_SYNC_BATCH_RESOLVED',
      `batch ${id} was superseded by ${batch.successor ?? 'a newer batch'}: ${batch.device} holds a different set of deletions now; decide on ${batch.successor ?? 'that one'}`,
      { details },
    );
  }
  throw new FosError('FOS_ERR_SYNC_BATCH_RESOLVED', `batch ${id} is already ${batch.state}`, { details });
}

/** Records the decision, tells watchers when nothing was committed, and sums it up. */
async function settle(
  ctx: StorageContext,
  user: string,
  batch: DeletionBatch,
  resolution: { readonly state: 'approved' | 'rejected'; readonly resolvedAt: number; readonly commitRev?: number | null },
  committed: readonly Entry[],
  done: number,
  total = done,
): Promise<Decision> {
  // The user's lock is held, so nobody else can have decided the batch since it was read.
  if (!(await ctx.store.resolveDeletionBatch(user, batch.id, resolution))) {
    throw new FosError('FOS_ERR_SYNC_BATCH_RESOLVED', `batch ${batch.id} was decided meanwhile`);
  }
  // A commit already told the watchers; a decision without one (approve `local`, or
  // nothing left to change) must too, or agents would only act on their next rescan.
  if (committed.length === 0) ctx.hub.publish(user, await ctx.store.currentRev(user), [batch.folder]);
  const decided: DeletionBatch = { ...batch, state: resolution.state, resolvedAt: resolution.resolvedAt, commitRev: resolution.commitRev ?? null };
  return { batch: decided, done, kept: total - done };
}

/** Live entries at or under a folder, by path, with their commit times (the trash records them). */
async function liveUnder(ctx: StorageContext, user: string, folder: string): Promise<Map<string, CommittedEntry>> {
  const entries = await ctx.store.listCommitted(user, folder);
  return new Map(entries.map((e) => [e.path, e]));
}

/** An item's live entry when it is still what was held (same kind, same revision). */
function unchanged<E extends Entry>(item: DeletionItem, current: ReadonlyMap<string, E>): E | null {
  const entry = current.get(item.path);
  return entry !== undefined && entry.kind === item.kind && entry.rev === item.rev ? entry : null;
}

/**
 * The entries an approved `remote` batch deletes: its files still at their held revision,
 * then its folders (deepest first) still at theirs that keep nothing: a file changed
 * meanwhile, or anything not in the batch, keeps its folders.
 */
export function deletable<E extends Entry>(items: readonly DeletionItem[], current: ReadonlyMap<string, E>): E[] {
  const files: E[] = [];
  for (const item of items) {
    const entry = item.kind === 'file' ? unchanged(item, current) : null;
    if (entry !== null) files.push(entry);
  }
  const gone = new Set(files.map((f) => f.path));
  const folderItems = new Set(items.filter((i) => i.kind === 'dir').map((i) => i.path));
  const occupied = new Set<string>();
  for (const entry of current.values()) {
    if (gone.has(entry.path) || folderItems.has(entry.path)) continue;
    for (const folder of ancestorsOf(entry.path)) occupied.add(folder);
  }
  const folders: E[] = [];
  const deepestFirst = items.filter((i) => i.kind === 'dir').sort((a, b) => b.path.length - a.path.length);
  for (const item of deepestFirst) {
    const entry = unchanged(item, current);
    if (entry !== null && !occupied.has(item.path)) {
      folders.push(entry);
      continue;
    }
    if (current.has(item.path)) for (const folder of [item.path, ...ancestorsOf(item.path)]) occupied.add(folder);
  }
  return [...files, ...folders];
}

/** fsyncs the folders that lost names, so the removals survive a crash. */
async function syncParents(ctx: StorageContext, user: string, removed: readonly Entry[]): Promise<void> {
  const gone = new Set(removed.map((e) => e.path));
  const parents = new Set<string>();
  for (const entry of removed) {
    const parent = ancestorsOf(entry.path).at(-1) ?? '';
    if (!gone.has(parent)) parents.add(parent);
  }
  for (const parent of parents) {
    try {
      await fsyncDir(await diskPath(ctx, user, parent), { fs: ctx.fs });
    } catch (err) {
      // A folder that was never on disk (metadata only) has nothing to sync.
      if (!(err instanceof FosError && err.code === 'FOS_ERR_PATH_NOT_FOUND')) throw err;
    }
  }
}

/** Reject `remote`: nothing to commit; the items still as held are what the device gets back. */
async function stillThere(ctx: StorageContext, user: string, batch: DeletionBatch, items: readonly DeletionItem[]): Promise<{ changes: Change[]; done: number }> {
  const current = await liveUnder(ctx, user, batch.folder);
  return { changes: [], done: items.filter((item) => unchanged(item, current) !== null).length };
}

/**
 * Reject `local`: every item whose tombstone is still the held one comes back, a folder
 * as a folder, a file from its newest trashed version with the held content. Folders
 * above it are created as needed. An item that cannot come back is left as it is.
 */
async function restores(ctx: StorageContext, user: string, items: readonly DeletionItem[], now: number): Promise<{ changes: Change[]; done: number }> {
  const changes = new Map<string, Change>();
  let done = 0;
  const parentsFirst = [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const item of parentsFirst) {
    const entry = await ctx.store.getEntry(user, item.path);
    if (entry === null || !entry.deleted || entry.rev !== item.rev) continue;
    const parents = await freeParents(ctx, user, item.path, changes, now);
    if (parents === null) continue;
    const target = await diskPath(ctx, user, item.path);
    let change: Change;
    if (item.kind === 'dir') {
      await makeParents(ctx, target);
      try {
        await ctx.fs.mkdirp(target);
      } catch (err) {
        throw storageError(err, `cannot create ${JSON.stringify(item.path)}`);
      }
      change = { path: item.path, kind: 'dir', size: 0, mtimeMs: now, sha256: '', deleted: false };
    } else {
      const version = await trashedVersion(ctx, user, item);
      if (version === null) continue;
      if (!(await copyFromTrash(ctx, user, version, target))) continue;
      change = { path: item.path, kind: 'file', size: version.size, mtimeMs: version.mtimeMs, sha256: version.sha256, deleted: false };
    }
    await syncParent(ctx, target);
    for (const parent of parents) changes.set(parent.path, parent);
    changes.set(item.path, change);
    done += 1;
  }
  return { changes: [...changes.values()], done };
}

/**
 * The folder changes a restored path needs (its ancestors that hold nothing live and are
 * not restored already), or null when an ancestor is a file now.
 */
async function freeParents(ctx: StorageContext, user: string, path: string, planned: ReadonlyMap<string, Change>, now: number): Promise<Change[] | null> {
  const out: Change[] = [];
  for (const folder of ancestorsOf(path)) {
    const change = planned.get(folder);
    if (change !== undefined) {
      if (change.kind !== 'dir') return null;
      continue;
    }
    const entry = live(await ctx.store.getEntry(user, folder));
    if (entry?.kind === 'file') return null;
    if (entry === null) out.push({ path: folder, kind: 'dir', size: 0, mtimeMs: now, sha256: '', deleted: false });
  }
  return out;
}

/** The newest trashed version of a held file with the held content, or null. */
async function trashedVersion(ctx: StorageContext, user: string, item: DeletionItem): Promise<TrashRecord | null> {
  const records = await ctx.trash.list(user, item.path);
  let best: TrashRecord | null = null;
  for (const record of records) {
    if (record.path !== item.path || record.sha256 !== item.sha256) continue;
    if (best === null || record.trashedAt > best.trashedAt) best = record;
  }
  return best;
}

/**
 * Copies a trashed version to `target` through a temporary file beside it (copy with its
 * SHA-256 checked, fsync, rename); the trashed copy stays. False when the trashed file is
 * gone or does not hold the recorded content (nothing is written then).
 * @throws FosError storage errors.
 */
async function copyFromTrash(ctx: StorageContext, user: string, record: TrashRecord, target: string): Promise<boolean> {
  const source = ctx.trash.fileOf(record);
  if (source === null) return false;
  // Beside its target, under fos's reserved temporary prefix: the rename stays within one
  // folder, and a copy left by a crash is removed at the next start.
  await makeParents(ctx, target);
  const temp = tempPathIn(dirname(target));
  let copied;
  try {
    copied = await copyFileHashed(source, temp, { fs: ctx.fs });
  } catch (err) {
    if (err instanceof FosError && err.code === 'FOS_ERR_PATH_NOT_FOUND') return false;
    throw err;
  }
  if (copied.bytes !== record.size || copied.sha256 !== record.sha256) {
    ctx.logger.warn({ user, path: record.path, trash: record.id }, 'trashed version does not hold its recorded content; not restored');
    await ctx.fs.unlink(temp);
    return false;
  }
  try {
    await ctx.fs.rename(temp, target);
  } catch (err) {
    // The temporary name is reserved and swept at the next start; the rename's error is
    // what the caller needs.
    await ctx.fs.unlink(temp).catch(() => undefined);
    throw storageError(err, `cannot restore ${JSON.stringify(record.path)} from the trash`);
  }
  return true;
}
