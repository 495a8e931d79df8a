/**
 * UPLOAD over FOS/2: READY with the offset already held, then data frames acknowledged as
 * they are written (the client keeps a window in flight), then EOF and the commit.
 */
import { FosError, asFosError } from '../errors.js';
import { BlockHasher } from '../fs/hash.js';
import { DELTA_BLOCK_BYTES, DELTA_MIN_FILE_BYTES, FEATURE, REPLY, TRANSFER_LINE } from '../protocol/constants.js';
import type { LineMessage } from '../protocol/frame-decoder.js';
import { unpackFrame } from '../protocol/frame-compression.js';
import type { RequestArgs } from '../protocol/messages.js';
import { copyLineSchema, decodeReply, errorReplyBody, uploadEofSchema } from '../protocol/messages.js';
import { NO_QUOTA } from './storage.js';
import type { OpContext, OpResult } from './session-types.js';
import type { DownloadSource, Quota } from './types.js';

/** Chunk writes queued at once before the next frame waits for the oldest. */
const MAX_PENDING_WRITES = 4;

/**
 * Compressed frames decoding at once (on the thread pool) before the oldest is written:
 * one at a time, decompression would set the pace of a compressed upload.
 */
const MAX_PENDING_UNPACKS = 4;

/** Bytes of the base read per piece of a `COPY`. */
const COPY_READ_BYTES = DELTA_BLOCK_BYTES;

/** A piece of the new file on its way to the sink: from the wire, or copied from the base. */
interface Piece {
  readonly bytes: Promise<Buffer>;
  readonly isCopy: boolean;
  /** A copied whole block's recorded hash, so it is not hashed a second time. */
  readonly blockHash?: string | undefined;
  /** The piece ends the file. */
  readonly isLast?: boolean;
  /** A buffer of the copy pool, given back once its bytes are written. */
  readonly pooled?: Buffer;
}

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
  // A delta upload copies unchanged blocks from the version it was computed against; any
  // other state (no such version any more, a resumed partial file) gets a plain upload.
  const base = args.delta !== undefined && negotiated.features.includes(FEATURE.delta) && sink.offset === 0 ? await openBase(ctx, args.path, args.delta.rev) : null;
  const baseBlocks = base === null ? undefined : services.blockCache?.get(base.entry.sha256);
  // The block hashes of the new version, recorded for the next delta upload over it; a
  // resumed upload does not see its first bytes, so it records nothing.
  const blocks = services.blockCache !== undefined && args.size >= DELTA_MIN_FILE_BYTES && sink.offset === 0 ? new BlockHasher(DELTA_BLOCK_BYTES) : null;
  const metrics = services.metrics;
  metrics?.activeTransfers.inc();
  let bytes = 0;
  const pending: Promise<void>[] = [];
  // Frames being decompressed and base pieces being read, oldest first; each is written
  // in the order it came.
  const unpacking: Piece[] = [];
  // Buffers for copied blocks, reused once written.
  const spare: Buffer[] = [];
  // The first frame that fails to decode ends the wait for the next message: the client
  // may be waiting for the answer instead of sending more.
  let onUnpackFailed: (err: unknown) => void = () => undefined;
  const unpackFailed = new Promise<never>((_resolve, reject) => {
    onUnpackFailed = reject;
  });
  unpackFailed.catch(() => undefined);
  const writeNext = async (): Promise<void> => {
    const piece = unpacking.shift() as Piece;
    const chunk = await piece.bytes;
    // Holding the acknowledgement back slows the client to the user's upload rate.
    if (!piece.isCopy) await services.uploadThrottle?.take(user, chunk.length);
    // The write is queued, not awaited: the next frame is read and hashed while this
    // one goes to disk. Each chunk is acknowledged once written, in order.
    if (blocks !== null && !(piece.blockHash !== undefined && blocks.addKnown(piece.blockHash, chunk.length, piece.isLast === true))) {
      blocks.update(chunk);
    }
    const written = sink.write(chunk).then(() => {
      // Hashed and written: the copy buffer may take the next block, instead of a fresh
      // 1 MiB buffer (and its page faults) for every block copied.
      if (piece.pooled !== undefined) spare.push(piece.pooled);
      wire.sendLine(REPLY.ack, { offset: sink.received });
    });
    written.catch(() => undefined);
    pending.push(written);
    bytes += chunk.length;
    if (!piece.isCopy) metrics?.bytesIn.inc(chunk.length);
    if (pending.length > MAX_PENDING_WRITES) await pending.shift();
  };
  // The SHA-256 the client's EOF names (feature `eof-hash`, when UPLOAD had none).
  let sha256AtEof: string | undefined;
  try {
    wire.sendLine(REPLY.ready, { offset: sink.offset, ...(base === null ? {} : { delta: true }) });
    for (;;) {
      let message;
      try {
        const next = wire.next(services.settings.idleTimeoutMs);
        message = await (unpacking.length === 0 ? next : Promise.race([next, unpackFailed]));
        if (message.kind === 'data') {
          const unpacked = unpackFrame(message.flags, message.payload, negotiated, negotiated.chunkBytes);
          unpacked.catch(onUnpackFailed);
          unpacking.push({ bytes: unpacked, isCopy: false });
          // A plain frame is ready at once; a compressed one may wait for the next few.
          if (message.flags === 0 || unpacking.length > MAX_PENDING_UNPACKS) {
            while (unpacking.length > (message.flags === 0 ? 0 : MAX_PENDING_UNPACKS)) await writeNext();
          }
          continue;
        }
        if (message.kind === 'line' && message.head === TRANSFER_LINE.copy && base !== null) {
          while (unpacking.length > 0) await writeNext();
          const { offset, length } = copyRange(message, sink.offset + bytes, base.entry.size, args.size);
          for (let at = offset; at < offset + length; at += COPY_READ_BYTES) {
            const pieceBytes = Math.min(COPY_READ_BYTES, offset + length - at);
            const pooled = spare.pop() ?? Buffer.allocUnsafeSlow(COPY_READ_BYTES);
            const read = base.readAt(at, pieceBytes, pooled);
            read.catch(onUnpackFailed);
            unpacking.push({ bytes: read, isCopy: true, pooled, ...knownBlock(baseBlocks, at, pieceBytes, base.entry.size, args.size) });
            while (unpacking.length > MAX_PENDING_UNPACKS) await writeNext();
          }
          continue;
        }
        if (message.kind !== 'line' || message.head !== REPLY.eof) {
          throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'expected a data frame or EOF during an upload');
        }
        sha256AtEof = decodeReply(uploadEofSchema, message).sha256;
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
        const entry = await sink.finish(sha256AtEof);
        if (blocks !== null) services.blockCache?.set(entry.sha256, blocks.finish());
        wire.sendLine(REPLY.ok, { entry });
        return { bytes };
      } finally {
        await sink.suspend();
      }
    }
  } finally {
    metrics?.activeTransfers.dec();
    await base?.close();
  }
}

/**
 * The recorded hash of a copied piece, when it is exactly one delta block of the base at
 * a block boundary (COPY_READ_BYTES is DELTA_BLOCK_BYTES, so whole copied blocks are).
 */
function knownBlock(
  baseBlocks: readonly string[] | undefined,
  at: number,
  length: number,
  baseSize: number,
  size: number,
): { blockHash?: string; isLast?: boolean } {
  if (baseBlocks === undefined || at % DELTA_BLOCK_BYTES !== 0) return {};
  const hash = baseBlocks[at / DELTA_BLOCK_BYTES];
  if (hash === undefined || length !== Math.min(DELTA_BLOCK_BYTES, baseSize - at)) return {};
  return { blockHash: hash, isLast: at + length === size };
}

/** The version at `rev` under `path`, open for reading; null when that is not the current one. */
async function openBase(ctx: OpContext, path: string, rev: number): Promise<DownloadSource | null> {
  let source: DownloadSource;
  try {
    source = await ctx.services.storage.openDownload(ctx.user, path, { offset: 0 });
  } catch (err) {
    // No base to copy from (gone, a folder): the client sends every byte instead.
    if (err instanceof FosError) return null;
    throw err;
  }
  if (source.entry.rev === rev) return source;
  await source.close();
  return null;
}

/**
 * The range a `COPY` line names, checked: it starts where the file has got to, and lies
 * within both the base and the declared size.
 * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` otherwise.
 */
function copyRange(line: LineMessage, position: number, baseSize: number, size: number): { offset: number; length: number } {
  const { offset, length } = decodeReply(copyLineSchema, line);
  if (offset !== position) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `COPY at ${offset}, but the upload is at ${position}`);
  if (offset + length > baseSize || offset + length > size) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `COPY past the end of the base (${baseSize} bytes) or of the upload (${size})`);
  }
  return { offset, length };
}

async function quotaOf(ctx: OpContext): Promise<Quota> {
  const account = await ctx.services.store.getUser(ctx.user);
  return account === null ? NO_QUOTA : { quotaBytes: account.quotaBytes, quotaFiles: account.quotaFiles };
}
