/**
 * The FOS/2 requests on entries that move no file bytes: STAT, LIST (a folder or the
 * change feed), MKDIR, DELETE, MOVE, TRASH.
 */
import { REPLY } from '../protocol/constants.js';
import type { RequestArgs } from '../protocol/messages.js';
import { sendBatches } from './batches.js';
import type { OpContext, OpResult } from './session-types.js';

/** STAT. @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`. */
export async function handleStat(ctx: OpContext, args: RequestArgs<'STAT'>): Promise<OpResult> {
  const entry = await ctx.services.storage.stat(ctx.user, args.path);
  ctx.wire.sendLine(REPLY.ok, { entry });
  return {};
}

/**
 * LIST: `ENTRIES` lines of at most ENTRIES_BATCH_BYTES, then `EOF {rev}`. With `since`,
 * the change feed (tombstones included).
 * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`.
 */
export async function handleList(ctx: OpContext, args: RequestArgs<'LIST'>): Promise<OpResult> {
  const storage = ctx.services.storage;
  const path = args.path ?? '';
  const listing =
    args.since === undefined
      ? await storage.list(ctx.user, path, args.recursive === true)
      : await storage.changesSince(ctx.user, args.since, path);
  await sendBatches(ctx, REPLY.entries, 'entries', listing.entries);
  ctx.wire.sendLine(REPLY.eof, { rev: listing.rev, ...(listing.history === undefined ? {} : { history: listing.history }) });
  return {};
}

/** MKDIR. @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_EXISTS`. */
export async function handleMkdir(ctx: OpContext, args: RequestArgs<'MKDIR'>): Promise<OpResult> {
  const entry = await ctx.services.storage.mkdir(ctx.user, args.path, args.mtimeMs);
  ctx.wire.sendLine(REPLY.ok, { entry });
  return {};
}

/**
 * DELETE: answers with the tombstones.
 * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_STORE_CONFLICT`,
 * `FOS_ERR_PATH_NOT_EMPTY`.
 */
export async function handleDelete(ctx: OpContext, args: RequestArgs<'DELETE'>): Promise<OpResult> {
  const entries = await ctx.services.storage.remove(ctx.user, args.path, { baseRev: args.baseRev, recursive: args.recursive });
  ctx.wire.sendLine(REPLY.ok, { entries });
  return {};
}

/**
 * MOVE: answers with the new entries.
 * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PATH_EXISTS`,
 * `FOS_ERR_STORE_CONFLICT`.
 */
export async function handleMove(ctx: OpContext, args: RequestArgs<'MOVE'>): Promise<OpResult> {
  const entries = await ctx.services.storage.move(ctx.user, args.from, args.to, args.baseRev);
  ctx.wire.sendLine(REPLY.ok, { entries });
  return {};
}

/** TRASH: the kept versions under a folder. @throws FosError `FOS_ERR_PATH_BAD`. */
export async function handleTrash(ctx: OpContext, args: RequestArgs<'TRASH'>): Promise<OpResult> {
  const records = await ctx.services.storage.listTrash(ctx.user, args.path ?? '');
  const items = records.map((r) => ({
    id: r.id,
    path: r.path,
    size: r.size,
    mtimeMs: r.mtimeMs,
    sha256: r.sha256,
    rev: r.rev,
    validFrom: r.validFrom,
    trashedAt: r.trashedAt,
  }));
  ctx.wire.sendLine(REPLY.ok, { items });
  return {};
}
