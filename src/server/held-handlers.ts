/**
 * The FOS/2 requests on held deletions (issue 11): HOLD (a device records what its guard
 * held back, in parts), HELD (list batches, with their items on request), APPROVE, REJECT.
 */
import { FosError, asFosError } from '../errors.js';
import { HELD_SAMPLE_PATHS, MAX_HELD_ITEMS, MAX_HOLD_PARTS, REPLY, REQUEST } from '../protocol/constants.js';
import { decodeRequest, errorReplyBody } from '../protocol/messages.js';
import type { RequestArgs } from '../protocol/messages.js';
import type { DeletionItem } from '../protocol/types.js';
import { sendBatches } from './batches.js';
import type { OpContext, OpResult } from './session-types.js';

/**
 * HOLD: part 0 arrives here; the parts after it (`last: false` says more follow) are read
 * on the spot, each for the same device, folder and side, numbered one up. Then the
 * assembled set is held and `OK {outcome, batch}` answers. A bad part after the first is
 * answered with ERR and ends the connection: parts still in flight would be read as
 * requests.
 * @throws FosError before the first part is accepted (the connection goes on), and from
 * holding: `FOS_ERR_PATH_BAD`, `FOS_ERR_STORE_TOO_LARGE`, store errors.
 */
export async function handleHold(ctx: OpContext, args: RequestArgs<'HOLD'>): Promise<OpResult> {
  if (args.part !== 0) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `HOLD part ${args.part} without part 0`);
  const items: DeletionItem[] = [...args.items];
  let last = args;
  try {
    while (!last.last) {
      const message = await ctx.wire.next(ctx.services.settings.idleTimeoutMs);
      if (message.kind === 'bad') throw message.error;
      if (message.kind !== 'line') throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'a data frame between HOLD parts');
      const request = decodeRequest(message);
      if (request.verb !== REQUEST.hold) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${request.verb} before the last HOLD part`);
      const next = request.args;
      if (next.part !== last.part + 1 || next.device !== args.device || next.folder !== args.folder || next.side !== args.side) {
        throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `HOLD part ${next.part} does not follow part ${last.part} of the same batch`);
      }
      if (next.part >= MAX_HOLD_PARTS) throw new FosError('FOS_ERR_STORE_TOO_LARGE', `a HOLD has at most ${MAX_HOLD_PARTS} parts`);
      if (items.length + next.items.length > MAX_HELD_ITEMS) {
        throw new FosError('FOS_ERR_STORE_TOO_LARGE', `a held batch holds at most ${MAX_HELD_ITEMS} deletions`);
      }
      items.push(...next.items);
      last = next;
    }
  } catch (err) {
    const error = asFosError(err);
    if (error.code !== 'FOS_ERR_NET_CLOSED') ctx.wire.sendLine(REPLY.err, errorReplyBody(error));
    return { close: true, failed: error.wireCode };
  }
  const result = await ctx.services.storage.holdDeletions(ctx.user, { device: args.device, folder: args.folder, side: args.side, items });
  ctx.wire.sendLine(REPLY.ok, { outcome: result.outcome, batch: result.batch });
  return {};
}

/**
 * HELD: a `BATCH {batch, samples}` line per matching batch, oldest first, each followed
 * (with `items: true`) by its `ITEMS {items}` lines of at most ENTRIES_BATCH_BYTES; then
 * `EOF {}`. Without `states`, only batches still held.
 * @throws FosError `FOS_ERR_PATH_BAD` for a bad folder, store errors.
 */
export async function handleHeld(ctx: OpContext, args: RequestArgs<'HELD'>): Promise<OpResult> {
  const { storage, settings } = ctx.services;
  const batches = await storage.listBatches(ctx.user, {
    states: args.states ?? ['held'],
    ...(args.ids === undefined ? {} : { ids: args.ids }),
    ...(args.folder === undefined ? {} : { folder: args.folder }),
  });
  for (const batch of batches) {
    const samples = await storage.batchItems(ctx.user, batch.id, HELD_SAMPLE_PATHS);
    if (!ctx.wire.sendLine(REPLY.batch, { batch, samples: samples.map((s) => s.path) })) await ctx.wire.drained(settings.idleTimeoutMs);
    if (args.items === true) await sendBatches(ctx, REPLY.items, 'items', await storage.batchItems(ctx.user, batch.id));
  }
  ctx.wire.sendLine(REPLY.eof, {});
  return {};
}

/**
 * APPROVE: `OK {batch, done, kept}`.
 * @throws FosError `FOS_ERR_SYNC_NO_BATCH`, `FOS_ERR_SYNC_BATCH_RESOLVED`, storage errors.
 */
export async function handleApprove(ctx: OpContext, args: RequestArgs<'APPROVE'>): Promise<OpResult> {
  const decision = await ctx.services.storage.approveBatch(ctx.user, args.id);
  ctx.wire.sendLine(REPLY.ok, { batch: decision.batch, done: decision.done, kept: decision.kept });
  return {};
}

/**
 * REJECT: `OK {batch, done, kept}`.
 * @throws FosError `FOS_ERR_SYNC_NO_BATCH`, `FOS_ERR_SYNC_BATCH_RESOLVED`, storage errors.
 */
export async function handleReject(ctx: OpContext, args: RequestArgs<'REJECT'>): Promise<OpResult> {
  const decision = await ctx.services.storage.rejectBatch(ctx.user, args.id);
  ctx.wire.sendLine(REPLY.ok, { batch: decision.batch, done: decision.done, kept: decision.kept });
  return {};
}
