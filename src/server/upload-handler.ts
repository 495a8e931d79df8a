/**
 * UPLOAD over FOS/2: READY with the offset already held, then data frames acknowledged as
 * they are written (the client keeps a window in flight), then EOF and the commit.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { FosError, asFosError } from '../errors.js';
import { FLAG_GZIP, REPLY } from '../protocol/constants.js';
import type { DataMessage } from '../protocol/frame-decoder.js';
import type { RequestArgs } from '../protocol/messages.js';
import { errorReplyBody } from '../protocol/messages.js';
import { NO_QUOTA } from './storage.js';
import type { Negotiated, OpContext, OpResult } from './session-types.js';
import type { Quota } from './types.js';

const gunzipAsync = promisify(gunzip);

/** Chunk writes queued at once before the next frame waits for the oldest. */
const MAX_PENDING_WRITES = 4;

/**
 * Runs one upload. Errors before READY and after EOF are thrown (the session answers ERR
 * and the connection goes on); an error while frames are in flight is answered here and
 * ends the connection, because frames already sent would be read as requests.
 * @throws FosError from `Storage.beginUpload` and from the commit.
 */
export async function handleUpload(ctx: OpContext, args: RequestArgs<'UPLOAD'>): Promise<OpResult> {
  const { services, wire, user, negotiated } = ctx;
  const quota = await quotaOf(ctx);
  const sink = await services.storage.beginUpload(
    user,
    { path: args.path, size: args.size, sha256: args.sha256, mtimeMs: args.mtimeMs, baseRev: args.baseRev },
    quota,
  );
  const metrics = services.metrics;
  metrics?.activeTransfers.inc();
  let bytes = 0;
  const pending: Promise<void>[] = [];
  try {
    wire.sendLine(REPLY.ready, { offset: sink.offset });
    for (;;) {
      let message;
      try {
        message = await wire.next(services.settings.idleTimeoutMs);
        if (message.kind === 'data') {
          const chunk = await unpack(message, negotiated);
          // Holding the acknowledgement back slows the client to the user's upload rate.
          await services.uploadThrottle?.take(user, chunk.length);
          // The write is queued, not awaited: the next frame is read and hashed while this
          // one goes to disk. Each chunk is acknowledged once written, in order.
          const written = sink.write(chunk).then(() => {
            wire.sendLine(REPLY.ack, { offset: sink.received });
          });
          written.catch(() => undefined);
          pending.push(written);
          bytes += chunk.length;
          metrics?.bytesIn.inc(chunk.length);
          if (pending.length > MAX_PENDING_WRITES) await pending.shift();
          continue;
        }
        if (message.kind !== 'line' || message.head !== REPLY.eof) {
          throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'expected a data frame or EOF during an upload');
        }
        await Promise.all(pending.splice(0));
      } catch (err) {
        await Promise.allSettled(pending.splice(0));
        // Whatever arrived intact is a valid prefix of the file: keep it for a resume.
        await sink.suspend();
        const error = asFosError(err);
        if (error.code !== 'FOS_ERR_NET_CLOSED') wire.sendLine(REPLY.err, errorReplyBody(error));
        if (error.wireCode === 'INTERNAL' && error.code !== 'FOS_ERR_NET_CLOSED') ctx.log.error({ err }, 'upload failed');
        return { bytes, failed: error.wireCode, close: true };
      }
      try {
        const entry = await sink.finish();
        wire.sendLine(REPLY.ok, { entry });
        return { bytes };
      } finally {
        await sink.suspend();
      }
    }
  } finally {
    metrics?.activeTransfers.dec();
  }
}

async function quotaOf(ctx: OpContext): Promise<Quota> {
  const account = await ctx.services.store.getUser(ctx.user);
  return account === null ? NO_QUOTA : { quotaBytes: account.quotaBytes, quotaFiles: account.quotaFiles };
}

/**
 * The file bytes of a data frame, decompressed when flagged, never more than one chunk.
 * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` for unknown flags, gzip that was not
 * negotiated or does not decode; `FOS_ERR_PROTO_FRAME_TOO_LARGE` over the chunk size.
 */
async function unpack(message: DataMessage, negotiated: Negotiated): Promise<Buffer> {
  if ((message.flags & ~FLAG_GZIP) !== 0) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `unknown data frame flags 0x${message.flags.toString(16)}`);
  }
  if ((message.flags & FLAG_GZIP) === 0) {
    if (message.payload.length > negotiated.chunkBytes) {
      throw new FosError('FOS_ERR_PROTO_FRAME_TOO_LARGE', `a data frame holds more than the chunk size of ${negotiated.chunkBytes}`);
    }
    return message.payload;
  }
  if (!negotiated.gzip) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'a gzip frame, but gzip was not negotiated');
  try {
    // The output bound stops a small frame from inflating into a huge one.
    return await gunzipAsync(message.payload, { maxOutputLength: negotiated.chunkBytes });
  } catch (err) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `a gzip frame does not decode to at most ${negotiated.chunkBytes} bytes`, { cause: err });
  }
}
