/**
 * LIST over FOS/2: `ENTRIES` batches until `EOF {rev}`, for folder listings and the change
 * feed alike.
 */
import { REPLY, REQUEST } from '../protocol/constants.js';
import { decodeReply, replySchemas } from '../protocol/messages.js';
import type { Entry } from '../protocol/types.js';
import type { Connection } from './connection.js';
import { protocolError } from './replies.js';
import type { Listing } from './types.js';

/**
 * Sends one LIST and gathers every batch.
 * @throws FosError from the server's ERR, or connection errors.
 */
export async function listAll(connection: Connection, args: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<Listing> {
  const entries: Entry[] = [];
  let line = await connection.request(REQUEST.list, args, signal);
  for (;;) {
    if (line.head === REPLY.entries) {
      for (const entry of decodeReply(replySchemas.entries, line).entries) entries.push(entry);
    } else if (line.head === REPLY.eof) {
      const { rev } = decodeReply(replySchemas.eof, line);
      return { entries, rev: rev ?? 0 };
    } else {
      throw connection.breakWith(protocolError(`expected ENTRIES or EOF, got ${line.head}`));
    }
    line = await connection.nextLine({ signal });
  }
}
