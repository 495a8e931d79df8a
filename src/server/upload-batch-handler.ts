/**
 * UPLOADS over FOS/2 (issue 8): READY, then every file's data frames in order, then EOF,
 * then one result per file. The batch fits in the window, so nothing is acknowledged on
 * the way; many small files cost two round trips together instead of two each.
 */
import { FosError, asFosError } from '../errors.js';
import { MAX_BATCH_BYTES, REPLY } from '../protocol/constants.js';
import type { RequestArgs } from '../protocol/messages.js';
import { errorReplyBody } from '../protocol/messages.js';
import { NO_QUOTA } from './storage.js';
import type { OpContext, OpResult } from './session-types.js';
import type { UploadBatch } from './upload-batch.js';

/**
 * Runs one batch. Errors before READY and after EOF are thrown (the session answers ERR
 * and the connection goes on); an error while frames are in flight is answered here and
 * ends the connection, as in UPLOAD.
 * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` for a batch over the window or
 * `MAX_BATCH_BYTES`; storage errors.
 */
export async function handleUploads(ctx: OpContext, args: RequestArgs<'UPLOADS'>): Promise<OpResult> {
  const { services, wire, user, negotiated } = ctx;
  const total = args.files.reduce((sum, file) => sum + file.size, 0);
  const limit = Math.min(MAX_BATCH_BYTES, negotiated.windowBytes);
  if (total > limit) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `a batch holds at most ${limit} bytes, not ${total}`);
  const account = await services.store.getUser(user);
  const quota = account === null ? NO_QUOTA : { quotaBytes: account.quotaBytes, quotaFiles: account.quotaFiles };
  const batch = services.storage.beginUploadBatch(user, args.files, quota);
  const metrics = services.metrics;
  metrics?.activeTransfers.inc();
  try {
    wire.sendLine(REPLY.ready, { offset: 0 });
    try {
      await receive(ctx, batch, args.files.length);
    } catch (err) {
      await batch.abort();
      const error = asFosError(err);
      if (error.code !== 'FOS_ERR_NET_CLOSED') wire.sendLine(REPLY.err, errorReplyBody(error));
      if (error.wireCode === 'INTERNAL' && error.code !== 'FOS_ERR_NET_CLOSED') ctx.log.error({ err }, 'upload batch failed');
      return { bytes: 0, failed: error.wireCode, close: true };
    }
    const results = await batch.finish();
    wire.sendLine(REPLY.ok, { results: results.map((r) => ('entry' in r ? { entry: r.entry } : { error: errorReplyBody(r.error) })) });
    return { bytes: total };
  } finally {
    metrics?.activeTransfers.dec();
  }
}

/** Reads each file's frames in order, then EOF. @throws FosError for anything else on the wire. */
async function receive(ctx: OpContext, batch: UploadBatch, files: number): Promise<void> {
  const { services, wire, user, negotiated } = ctx;
  for (let index = 0; index <= files; ) {
    // Files with nothing left (empty ones included) take no frame.
    if (index < files && batch.remaining(index) === 0) {
      index += 1;
      continue;
    }
    const message = await wire.next(services.settings.idleTimeoutMs);
    if (index === files) {
      if (message.kind !== 'line' || message.head !== REPLY.eof) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'expected EOF after the batch');
      return;
    }
    if (message.kind !== 'data') throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'expected a data frame during an upload batch');
    if (message.flags !== 0) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the frames of a batch are plain (flags 0)');
    if (message.payload.length > negotiated.chunkBytes) {
      throw new FosError('FOS_ERR_PROTO_FRAME_TOO_LARGE', `a data frame holds more than the chunk size of ${negotiated.chunkBytes}`);
    }
    await services.uploadThrottle?.take(user, message.payload.length);
    services.metrics?.bytesIn.inc(message.payload.length);
    batch.take(index, message.payload);
  }
}
