/**
 * UPLOAD over FOS/2: READY with the offset already held, then data frames acknowledged as
 * they are written (the client keeps a window in flight), then EOF and the commit.
 */
import { FosError, asFosError } from '../errors.js';
import { REPLY } from '../protocol/constants.js';
import { unpackFrame } from '../protocol/frame-compression.js';
import type { RequestArgs } from '../protocol/messages.js';
import { errorReplyBody } from '../protocol/messages.js';
import { NO_QUOTA } from './storage.js';
import type { OpContext, OpResult } from './session-types.js';
import type { Quota } from './types.js';

/** Chunk writes queued at once before the next frame waits for the oldest. */
const MAX_PENDING_WRITES = 4;

/**
 * Compressed frames decoding at once (on the thread pool) before the oldest is written:
 * one at a time, decompression would set the pace of a compressed upload.
 */
const MAX_PENDING_UNPACKS = 4;

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
  // Frames being decompressed, oldest first; each is written in the order it came.
  const unpacking: Promise<Buffer>[] = [];
  // The first frame that fails to decode ends the wait for the next message: the client
  // may be waiting for the answer instead of sending more.
  let onUnpackFailed: (err: unknown) => void = () => undefined;
  const unpackFailed = new Promise<never>((_resolve, reject) => {
    onUnpackFailed = reject;
  });
  unpackFailed.catch(() => undefined);
  const writeNext = async (): Promise<void> => {
    const chunk = await (unpacking.shift() as Promise<Buffer>);
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
  };
  try {
    wire.sendLine(REPLY.ready, { offset: sink.offset });
    for (;;) {
      let message;
      try {
        const next = wire.next(services.settings.idleTimeoutMs);
        message = await (unpacking.length === 0 ? next : Promise.race([next, unpackFailed]));
        if (message.kind === 'data') {
          const unpacked = unpackFrame(message.flags, message.payload, negotiated, negotiated.chunkBytes);
          unpacked.catch(onUnpackFailed);
          unpacking.push(unpacked);
          // A plain frame is ready at once; a compressed one may wait for the next few.
          if (message.flags === 0 || unpacking.length > MAX_PENDING_UNPACKS) {
            while (unpacking.length > (message.flags === 0 ? 0 : MAX_PENDING_UNPACKS)) await writeNext();
          }
          continue;
        }
        if (message.kind !== 'line' || message.head !== REPLY.eof) {
          throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'expected a data frame or EOF during an upload');
        }
        while (unpacking.length > 0) await writeNext();
        await Promise.all(pending.splice(0));
      } catch (err) {
        await Promise.allSettled(unpacking.splice(0));
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
