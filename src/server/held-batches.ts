/**
 * Held deletions on the server (issue 11): a device's pass records the deletions its
 * mass-delete guard held back as one batch per (device, folder, side), and people list
 * them. Holding is idempotent: the same set keeps its batch, a different set supersedes the
 * pending one, an empty set withdraws it. Deciding a batch is in batch-decisions.ts.
 */
import { randomBytes } from 'node:crypto';
import { FosError } from '../errors.js';
import { isInside, normalizeRemotePath, parentOf } from '../fs/remote-path.js';
import { MAX_HELD_ITEMS } from '../protocol/constants.js';
import { batchIdFromBytes, deletionSetKey } from '../protocol/deletion-batch.js';
import type { BatchState, DeletionBatch, DeletionItem, DeletionSide, Entry } from '../protocol/types.js';
import type { StorageContext } from './storage-context.js';

/** What a device asks to hold. `items` paths are server paths inside `folder`. */
export interface HoldRequest {
  readonly device: string;
  readonly folder: string;
  readonly side: DeletionSide;
  readonly items: readonly DeletionItem[];
}

/**
 * What holding did: `created` a new batch, kept the `same` one, `superseded` the pending
 * one with a new batch, `withdrawn` the pending one (empty set), or `none` (empty set,
 * nothing pending).
 */
export type HoldOutcome = 'created' | 'same' | 'superseded' | 'withdrawn' | 'none';

/** The outcome and the batch it concerns (null for `none`). */
export interface HoldResult {
  readonly outcome: HoldOutcome;
  readonly batch: DeletionBatch | null;
}

/** Which batches a listing shows; every given field must match. */
export interface BatchQuery {
  readonly ids?: readonly string[];
  /** Batches whose folder holds this one or lies inside it (folder pairs that overlap). */
  readonly folder?: string;
  readonly states?: readonly BatchState[];
}

/** The step holding takes, decided from the pending batch and the new set alone. */
export function holdStep(pending: DeletionBatch | null, itemsKey: string, count: number): HoldOutcome {
  if (count === 0) return pending === null ? 'none' : 'withdrawn';
  if (pending === null) return 'created';
  return pending.itemsKey === itemsKey ? 'same' : 'superseded';
}

/**
 * Records held deletions for a device (see the module comment).
 * @throws FosError `FOS_ERR_PATH_BAD` for a folder or item path that is not canonical or
 * not inside the folder, `FOS_ERR_STORE_TOO_LARGE` past MAX_HELD_ITEMS, store errors.
 */
export async function holdDeletions(ctx: StorageContext, user: string, request: HoldRequest): Promise<HoldResult> {
  const folder = normalizeRemotePath(request.folder);
  if (folder !== request.folder) throw new FosError('FOS_ERR_PATH_BAD', `folder ${JSON.stringify(request.folder)} is not canonical`);
  const { device, side, items } = request;
  if (items.length > MAX_HELD_ITEMS) {
    throw new FosError('FOS_ERR_STORE_TOO_LARGE', `a held batch holds at most ${MAX_HELD_ITEMS} deletions, not ${items.length}`);
  }
  for (const item of items) {
    if (!isInside(folder, item.path) || normalizeRemotePath(item.path) !== item.path) {
      throw new FosError('FOS_ERR_PATH_BAD', `${JSON.stringify(item.path)} is not a canonical path inside ${JSON.stringify(folder)}`);
    }
  }
  const itemsKey = deletionSetKey(items);
  return ctx.store.withUserLock(user, async () => {
    const [pending = null] = await ctx.store.listDeletionBatches(user, { states: ['held'], device, folder, side });
    const now = ctx.clock.now();
    const outcome = holdStep(pending, itemsKey, items.length);
    switch (outcome) {
      case 'none':
        return { outcome, batch: null };
      case 'same':
        return { outcome, batch: pending };
      case 'withdrawn': {
        if (pending === null) throw new FosError('FOS_ERR_STORE_WRITE', 'nothing pending to withdraw');
        await ctx.store.resolveDeletionBatch(user, pending.id, { state: 'withdrawn', resolvedAt: now });
        ctx.logger.info({ user, device, folder, side, batch: pending.id }, 'held deletions withdrawn');
        return { outcome, batch: { ...pending, state: 'withdrawn', resolvedAt: now } };
      }
      case 'created':
      case 'superseded': {
        const batch: DeletionBatch = {
          id: await freshBatchId(ctx, user),
          device,
          folder,
          side,
          state: 'held',
          createdAt: now,
          resolvedAt: null,
          count: items.length,
          bytes: items.reduce((n, item) => n + (item.kind === 'file' ? item.size : 0), 0),
          commitRev: null,
          successor: null,
          itemsKey,
        };
        await ctx.store.addDeletionBatch(user, batch, items, pending?.id ?? null);
        ctx.logger.info({ user, device, folder, side, batch: batch.id, count: batch.count, replaces: pending?.id }, 'deletions held');
        return { outcome, batch };
      }
      default: {
        const never: never = outcome;
        return never;
      }
    }
  });
}

/**
 * The user's batches that match `query`, oldest first.
 * @throws FosError `FOS_ERR_PATH_BAD` for a folder that is not a legal path; store errors.
 */
export async function listBatches(ctx: StorageContext, user: string, query: BatchQuery): Promise<DeletionBatch[]> {
  const folder = query.folder === undefined ? undefined : normalizeRemotePath(query.folder);
  const batches = await ctx.store.listDeletionBatches(user, query.states === undefined ? {} : { states: query.states });
  return batches.filter(
    (b) =>
      (query.ids === undefined || query.ids.includes(b.id)) &&
      (folder === undefined || isAtOrInside(folder, b.folder) || isAtOrInside(b.folder, folder)),
  );
}

function isAtOrInside(folder: string, path: string): boolean {
  return folder === path || isInside(folder, path);
}

/** The device name batches of deletions a restore carried out are recorded under. */
export const RESTORE_DEVICE = 'fos restore';

/**
 * Records deletions the server itself carried out in one commit at `commitRev` (a
 * restore's) as a batch born approved, so that devices take them as a person's decision:
 * their mass-delete guard lets these deletions through instead of holding them again. The
 * caller holds the user's lock. Nothing is recorded for no deletions, or for more than one
 * batch holds (the devices then hold them, as for any mass deletion).
 * @returns the batch, or null when none was recorded.
 */
export async function recordCarriedOut(
  ctx: StorageContext,
  user: string,
  request: { readonly folder: string; readonly commitRev: number; readonly deleted: readonly Entry[] },
): Promise<DeletionBatch | null> {
  const { folder: at, commitRev, deleted } = request;
  if (deleted.length === 0 || deleted.length > MAX_HELD_ITEMS) return null;
  // Items lie strictly inside the batch's folder: a restored path that itself goes is listed under its parent.
  const folder = deleted.some((entry) => entry.path === at) ? parentOf(at) : at;
  const items: DeletionItem[] = deleted.map(({ path, kind, rev, size, sha256 }) => ({ path, kind, rev, size, sha256 }));
  const now = ctx.clock.now();
  const batch: DeletionBatch = {
    id: await freshBatchId(ctx, user),
    device: RESTORE_DEVICE,
    folder,
    side: 'remote',
    state: 'approved',
    createdAt: now,
    resolvedAt: now,
    count: items.length,
    bytes: items.reduce((n, item) => n + (item.kind === 'file' ? item.size : 0), 0),
    commitRev,
    successor: null,
    itemsKey: deletionSetKey(items),
  };
  await ctx.store.addDeletionBatch(user, batch, items, null);
  return batch;
}

/**
 * A batch id this user has no batch with yet. Ids are random and also unique across users
 * in the store; 40 random bits make a clash with another user's id negligible, and one
 * would only fail this hold (the device holds again on its next pass).
 */
async function freshBatchId(ctx: StorageContext, user: string): Promise<string> {
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const id = batchIdFromBytes(randomBytes(5));
    if ((await ctx.store.getDeletionBatch(user, id)) === null) return id;
  }
  throw new FosError('FOS_ERR_STORE_WRITE', 'cannot find a free batch id');
}
