/**
 * Replies that come in batches: LIST's `ENTRIES` lines until `EOF {rev}` (folder listings
 * and the change feed alike), and RESTORE's `STEPS` lines until `OK`.
 */
import { REPLY, REQUEST } from '../protocol/constants.js';
import type { LineMessage } from '../protocol/frame-decoder.js';
import { decodeReply, replySchemas } from '../protocol/messages.js';
import type { Entry } from '../protocol/types.js';
import type { Connection } from './connection.js';
import { protocolError } from './replies.js';
import type { Listing, RestoreReport, RestoreStep } from './types.js';

/**
 * Sends one request and hands every `batchHead` line to `onBatch` until the `endHead` line,
 * which it returns.
 * @throws FosError from the server's ERR, or connection errors; any other head breaks the
 * connection (the reply stream cannot be trusted).
 */
async function collect(
  connection: Connection,
  request: { readonly head: string; readonly body: Readonly<Record<string, unknown>> },
  batchHead: string,
  endHead: string,
  onBatch: (line: LineMessage) => void,
  signal?: AbortSignal,
): Promise<LineMessage> {
  let line = await connection.request(request.head, request.body, signal);
  while (line.head !== endHead) {
    if (line.head !== batchHead) throw connection.breakWith(protocolError(`expected ${batchHead} or ${endHead}, got ${line.head}`));
    onBatch(line);
    line = await connection.nextLine({ signal });
  }
  return line;
}

/**
 * Sends one LIST and gathers every batch.
 * @throws FosError from the server's ERR, or connection errors.
 */
export async function listAll(connection: Connection, args: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<Listing> {
  const entries: Entry[] = [];
  const end = await collect(connection, { head: REQUEST.list, body: args }, REPLY.entries, REPLY.eof, (line) => {
    entries.push(...decodeReply(replySchemas.entries, line).entries);
  }, signal);
  const { rev, history } = decodeReply(replySchemas.eof, end);
  return { entries, rev: rev ?? 0, ...(history === undefined ? {} : { history }) };
}

/**
 * Sends one RESTORE and gathers its steps and summary.
 * @throws FosError from the server's ERR, or connection errors.
 */
export async function restoreAll(connection: Connection, args: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<RestoreReport> {
  const steps: RestoreStep[] = [];
  const end = await collect(connection, { head: REQUEST.restore, body: args }, REPLY.steps, REPLY.ok, (line) => {
    steps.push(...decodeReply(replySchemas.steps, line).steps);
  }, signal);
  return { ...decodeReply(replySchemas.restored, end), steps };
}
