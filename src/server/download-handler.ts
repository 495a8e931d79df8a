/**
 * DOWNLOAD and PREVIEW over FOS/2: SENDING, data frames with at most a window of bytes
 * unacknowledged (the client acknowledges what it wrote), then `EOF {sha256}`. Writes
 * respect the socket's backpressure; a chunk is compressed (brotli when negotiated, else
 * gzip) only when asked and when it shrinks.
 */
import { FosError, asFosError } from '../errors.js';
import { DEFAULT_PREVIEW_BYTES, REPLY } from '../protocol/constants.js';
import { packFrame } from '../protocol/frame-compression.js';
import type { FrameCompression } from '../protocol/frame-compression.js';
import type { Message } from '../protocol/frame-decoder.js';
import type { RequestArgs } from '../protocol/messages.js';
import { decodeReply, errorReplyBody, replySchemas } from '../protocol/messages.js';
import type { OpContext, OpResult } from './session-types.js';
import type { DownloadSource } from './types.js';

/** Bytes read from the file per read call (a whole number of chunks). */
const READ_BYTES = 1024 * 1024;

/**
 * DOWNLOAD from an offset.
 * @throws FosError from `Storage.openDownload` (before anything was sent).
 */
export async function handleDownload(ctx: OpContext, args: RequestArgs<'DOWNLOAD'>): Promise<OpResult> {
  const source = await ctx.services.storage.openDownload(ctx.user, args.path, { offset: args.offset ?? 0 });
  return send(ctx, source, args.compress === true, true);
}

/**
 * PREVIEW: the first bytes of a file (1024 by default). Acknowledgements are optional, so
 * no window applies (a preview is at most MAX_PREVIEW_BYTES).
 * @throws FosError from `Storage.openDownload`.
 */
export async function handlePreview(ctx: OpContext, args: RequestArgs<'PREVIEW'>): Promise<OpResult> {
  const maxBytes = args.bytes ?? DEFAULT_PREVIEW_BYTES;
  const source = await ctx.services.storage.openDownload(ctx.user, args.path, { offset: 0, maxBytes });
  return send(ctx, source, false, false);
}

async function send(ctx: OpContext, source: DownloadSource, compress: boolean, isWindowed: boolean): Promise<OpResult> {
  const { wire, negotiated, services } = ctx;
  const metrics = services.metrics;
  const idleMs = services.settings.idleTimeoutMs;
  const method: FrameCompression | null = !compress ? null : negotiated.brotli ? 'br' : negotiated.gzip ? 'gzip' : null;
  metrics?.activeTransfers.inc();
  let sent = source.offset;
  let acked = source.offset;
  try {
    wire.sendLine(REPLY.sending, { entry: source.entry, offset: source.offset, length: source.length, compress: method !== null });
    const { chunkBytes } = negotiated;
    // Reads of several chunks at once: fewer trips to the file system's thread pool.
    const readBytes = Math.max(chunkBytes, Math.floor(READ_BYTES / chunkBytes) * chunkBytes);
    for (;;) {
      const block = await source.read(readBytes);
      if (block === null) break;
      for (let at = 0; at < block.length; at += chunkBytes) {
        const piece = block.subarray(at, Math.min(at + chunkBytes, block.length));
        if (isWindowed) {
          for (let message = wire.poll(); message !== undefined; message = wire.poll()) acked = ackOf(message, acked, sent);
          while (sent - acked + piece.length > negotiated.windowBytes) acked = ackOf(await wire.next(idleMs), acked, sent);
        }
        await services.downloadThrottle?.take(ctx.user, piece.length);
        const frame = method === null ? { flags: 0, payload: piece } : await packFrame(piece, method);
        const hasRoom = wire.sendFrame(frame.flags, frame.payload);
        sent += piece.length;
        metrics?.bytesOut.inc(piece.length);
        if (!hasRoom) await wire.drained(idleMs);
      }
    }
    wire.sendLine(REPLY.eof, { sha256: source.entry.sha256 });
    return { bytes: sent - source.offset };
  } catch (err) {
    // Frames are on the wire: the stream cannot be resynchronised, so the connection ends.
    const error = asFosError(err);
    if (error.code !== 'FOS_ERR_NET_CLOSED') wire.sendLine(REPLY.err, errorReplyBody(error));
    if (error.wireCode === 'INTERNAL' && error.code !== 'FOS_ERR_NET_CLOSED') ctx.log.error({ err }, 'download failed');
    return { bytes: sent - source.offset, failed: error.wireCode, close: true };
  } finally {
    metrics?.activeTransfers.dec();
    await source.close();
  }
}

/**
 * The acknowledged offset after `message`, which must be a `CHUNK RECEIVED`. An offset
 * beyond what was sent is ignored, never trusted.
 * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` for anything else in the middle of a transfer.
 */
function ackOf(message: Message, acked: number, sent: number): number {
  if (message.kind !== 'line' || message.head !== REPLY.ack) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'only CHUNK RECEIVED may be sent during a download');
  }
  const { offset } = decodeReply(replySchemas.ack, message);
  return offset > acked && offset <= sent ? offset : acked;
}
