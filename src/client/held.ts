/**
 * Held deletions over FOS/2 (issue 11): HOLD in parts, HELD with its BATCH / ITEMS lines,
 * APPROVE and REJECT.
 */
import type { z } from 'zod';
import { FosError } from '../errors.js';
import { REPLY, REQUEST } from '../protocol/constants.js';
import { holdParts } from '../protocol/deletion-batch.js';
import { decodeReply, replySchemas } from '../protocol/messages.js';
import type { BatchState, DeletionBatch, DeletionItem, DeletionSide } from '../protocol/types.js';
import type { Connection } from './connection.js';
import { expectHead, protocolError } from './replies.js';

/** What a device holds: its name, its pair's server folder, the side and the deletions. */
export interface HoldArgs {
  readonly device: string;
  readonly folder: string;
  readonly side: DeletionSide;
  /** Server paths inside `folder`. Empty withdraws the pending batch. */
  readonly items: readonly DeletionItem[];
}

/** The server's answer to HOLD. */
export type HoldReply = z.infer<typeof replySchemas.hold>;

/** What HELD asks for. Without `states`, only batches still held. */
export interface HeldQuery {
  readonly ids?: readonly string[];
  readonly folder?: string;
  readonly states?: readonly BatchState[];
  /** Include every batch's items (else only a few sample paths). */
  readonly items?: boolean;
}

/** A batch as HELD lists it. `items` is filled only when the query asked for items. */
export interface ListedBatch {
  readonly batch: DeletionBatch;
  readonly samples: readonly string[];
  readonly items: readonly DeletionItem[];
}

/** The server's answer to APPROVE and REJECT. */
export type DecisionReply = z.infer<typeof replySchemas.resolved>;

/**
 * Sends a HOLD: every part but the last goes out at once, then the last waits for the one
 * reply. Any failure leaves the connection out of step (parts may still be queued on the
 * server side), so it is marked broken and the pool drops it.
 * @throws FosError from the server (`PATH_BAD`, `TOO_LARGE`, ...), connection errors.
 */
export async function holdDeletions(connection: Connection, args: HoldArgs, signal?: AbortSignal): Promise<HoldReply> {
  const parts = holdParts(args.items);
  const head = { device: args.device, folder: args.folder, side: args.side };
  try {
    for (let part = 0; part < parts.length - 1; part += 1) {
      if (!connection.sendLine(REQUEST.hold, { ...head, part, last: false, items: parts[part] ?? [] })) await connection.drain(signal);
    }
    const line = await connection.request(REQUEST.hold, { ...head, part: parts.length - 1, last: true, items: parts.at(-1) ?? [] }, signal);
    return decodeReply(replySchemas.hold, expectHead(line, REPLY.ok));
  } catch (err) {
    if (err instanceof FosError) connection.breakWith(err);
    throw err;
  }
}

/**
 * Lists held batches; see {@link HeldQuery}.
 * @throws FosError `FOS_ERR_PATH_BAD` for a bad folder, connection errors.
 */
export async function listHeld(connection: Connection, query: HeldQuery, signal?: AbortSignal): Promise<ListedBatch[]> {
  const args = {
    ...(query.ids === undefined ? {} : { ids: query.ids }),
    ...(query.folder === undefined ? {} : { folder: query.folder }),
    ...(query.states === undefined ? {} : { states: query.states }),
    ...(query.items === true ? { items: true } : {}),
  };
  const out: { batch: DeletionBatch; samples: readonly string[]; items: DeletionItem[] }[] = [];
  let line = await connection.request(REQUEST.held, args, signal);
  for (;;) {
    if (line.head === REPLY.eof) return out;
    if (line.head === REPLY.batch) {
      const { batch, samples } = decodeReply(replySchemas.batch, line);
      out.push({ batch, samples, items: [] });
    } else if (line.head === REPLY.items) {
      // ITEMS lines belong to the BATCH line before them.
      const { items } = decodeReply(replySchemas.items, line);
      const current = out.at(-1);
      if (current === undefined) throw connection.breakWith(protocolError('ITEMS before any BATCH'));
      current.items.push(...items);
    } else {
      throw connection.breakWith(protocolError(`expected BATCH, ITEMS or EOF, got ${line.head}`));
    }
    line = await connection.nextLine({ signal });
  }
}

/**
 * Approves or rejects a held batch.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND` (no such batch), `FOS_ERR_STORE_CONFLICT`
 * (superseded or already decided; `details.state` and `details.successor` say how).
 */
export async function decideBatch(connection: Connection, verdict: 'approve' | 'reject', id: string, signal?: AbortSignal): Promise<DecisionReply> {
  const verb = verdict === 'approve' ? REQUEST.approve : REQUEST.reject;
  const line = await connection.request(verb, { id }, signal);
  return decodeReply(replySchemas.resolved, expectHead(line, REPLY.ok));
}
