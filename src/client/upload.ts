/**
 * Upload over FOS/2: the size and SHA-256 go first, the server answers with the offset it
 * already holds, and data frames follow from there with at most a window of bytes
 * unacknowledged, so the sender never waits one round trip per chunk. When the SHA-256 is
 * not known yet and the server has `eof-hash`, the file is hashed as it is sent and `EOF`
 * names the hash: one read of the file instead of two.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { FosError, errnoCode } from '../errors.js';
import { DELTA_MIN_FILE_BYTES, FEATURE, REPLY, REQUEST, TRANSFER_LINE } from '../protocol/constants.js';
import { encodeFrameHeader } from '../protocol/encode.js';
import { packFrame } from '../protocol/frame-compression.js';
import type { FrameCompression, PackedFrame } from '../protocol/frame-compression.js';
import type { LineMessage, Message } from '../protocol/frame-decoder.js';
import { decodeReply, errorFromReply, replySchemas } from '../protocol/messages.js';
import type { Entry } from '../protocol/types.js';
import { blockHash, sha256File, sha256FileBlocks } from '../fs/hash.js';
import { deltaBlockBytes, planDelta } from './delta-plan.js';
import type { BlockList, DeltaRange } from './delta-plan.js';
import { throwIfAborted } from './clock.js';
import { expectHead, protocolError } from './replies.js';
import type { Connection } from './connection.js';
import type { ProgressFn } from './types.js';

/** Bytes read from the file per read call: several chunks, so reads are few and large. */
const READ_BYTES = 1024 * 1024;

/** After a chunk that compression does not shrink, this many chunks go plain without trying. */
const COMPRESS_BACKOFF_CHUNKS = 16;

/**
 * Chunks compressing at once (on the thread pool) ahead of the one being sent: one at a
 * time, compression would set the pace and leave the second core idle.
 */
const COMPRESS_AHEAD_CHUNKS = 4;

/** Options of `uploadFile`. */
export interface UploadOptions {
  /** Only if the server's entry is still at this revision; null: only if the path is free. */
  readonly baseRev?: number | null;
  /**
   * Modification time to record; the local file's when absent, rounded to whole ms (utimes
   * stores `ms / 1000` in binary floating point, so a file set to 7 ms reads back as 6.999).
   */
  readonly mtimeMs?: number;
  readonly onProgress?: ProgressFn;
  readonly signal?: AbortSignal;
  /** Compress the chunks that shrink (brotli, else gzip), when the server supports it (default false). */
  readonly compress?: boolean;
  /**
   * Told when the server committed a complete, verified version but the local file
   * changed after its bytes were read (the upload then still throws
   * `FOS_ERR_SYNC_LOCAL_CHANGED`): the server holds the version that was read, and a
   * caller keeping a manifest must record it, or the next pass sees two new versions.
   */
  readonly onCommittedThenChanged?: (entry: Entry) => void;
  /**
   * Over a version the server has (a numeric `baseRev`, or no `baseRev` and a file at the
   * path), send only the blocks that differ from it when the server supports it (default
   * true); for a new path, a small file, or a version that moved on, every byte goes.
   */
  readonly delta?: boolean;
  /**
   * The file's SHA-256 when the caller just hashed it (the sync's scan), so the file is
   * not read an extra time before it is sent. It is only what the upload declares: the
   * server hashes what it receives, and a file that changed since gives
   * `FOS_ERR_SYNC_LOCAL_CHANGED` as any change during an upload does.
   */
  readonly sha256?: string;
}

/**
 * Uploads a local file to `remotePath`, resuming from whatever the server kept of an
 * interrupted attempt, and returns the committed entry.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND` (no such local file), `FOS_ERR_SYNC_LOCAL_IO`
 * (not a regular file, read error), `FOS_ERR_SYNC_LOCAL_CHANGED` (the file changed while
 * it was sent), server errors (`FOS_ERR_STORE_CONFLICT`, `FOS_ERR_STORE_QUOTA`, ...),
 * connection errors, or the abort error.
 */
export async function uploadFile(
  connection: Connection,
  localPath: string,
  remotePath: string,
  options: UploadOptions = {},
): Promise<Entry> {
  const { signal } = options;
  throwIfAborted(signal);
  const file = await openLocal(localPath);
  let changed = false;
  try {
    const before = await file.stat();
    if (!before.isFile()) throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `${localPath} is not a regular file`);
    const size = before.size;
    const { negotiated } = connection;
    const { sha256, delta } = await prepare(connection, localPath, remotePath, size, options);
    const method: FrameCompression | null = options.compress !== true ? null : negotiated.brotli ? 'br' : negotiated.gzip ? 'gzip' : null;
    const request: Record<string, unknown> = {
      path: remotePath,
      size,
      ...(sha256 === null ? {} : { sha256 }),
      mtimeMs: options.mtimeMs ?? Math.round(before.mtimeMs),
      ...(options.baseRev === undefined ? {} : { baseRev: options.baseRev }),
      ...(method !== null ? { compress: true } : {}),
      ...(delta === null ? {} : { delta: { rev: delta.rev, blockBytes: delta.blockBytes } }),
    };
    const ready = decodeReply(replySchemas.ready, expectHead(await connection.request(REQUEST.upload, request, signal), REPLY.ready));
    if (ready.offset > size) throw connection.breakWith(protocolError(`READY offset ${ready.offset} is past the size ${size}`));
    const hashAtEof = sha256 === null ? createHash('sha256') : null;
    const sender = new WindowSender(connection, file, { localPath, size, offset: ready.offset, method, options, hashAtEof });
    try {
      if (ready.delta !== true || delta === null) await sender.sendAll();
      else if (delta.ranges === null) await sender.streamDelta(delta.base, delta.blockBytes);
      else await sender.sendDelta(delta.ranges);
      // Size or mtime moved: the server will answer CHECKSUM and discard its partial copy.
      changed = await hasChanged(file, before);
      // With the hash at EOF the server would verify the bytes against what was read, torn
      // or not: a file that changed must not reach EOF. The partial copy is keyed by the
      // old mtime, so no later upload resumes from it.
      if (changed && hashAtEof !== null) throw connection.breakWith(changedError(localPath));
      const entry = await sender.finish();
      if (changed) {
        options.onCommittedThenChanged?.(entry);
        throw changedError(localPath);
      }
      options.onProgress?.({ bytes: size, total: size });
      return entry;
    } catch (err) {
      if (err instanceof FosError && err.code === 'FOS_ERR_STORE_CHECKSUM') {
        // A hash the caller gave may be stale (a file rewritten with its old size and mtime),
        // or, with the hash at EOF, the bytes a resume started from were another content's
        // of the same size and mtime: the server discarded them, so hash the file itself and
        // send it once more, from the start. A file that changed while it was sent waits for
        // the next pass, as always.
        const isStalePrefix = hashAtEof !== null && ready.offset > 0;
        if ((options.sha256 === undefined && !isStalePrefix) || changed) throw changedError(localPath, err);
      } else throw err;
    }
  } finally {
    await file.close();
  }
  // Only a CHECKSUM against a hash the caller gave, or after a stale resumed prefix, gets here.
  return uploadFile(connection, localPath, remotePath, withoutHash(options));
}

/** A delta upload's plan: the base revision, the block size and the ranges. */
interface DeltaUpload {
  readonly rev: number;
  readonly blockBytes: number;
  /** The server's blocks of the base. */
  readonly base: BlockList;
  /**
   * The ranges, when the file was hashed block by block before the request; null when
   * its SHA-256 was given, and blocks are hashed and compared as they are sent.
   */
  readonly ranges: readonly DeltaRange[] | null;
}

/**
 * The file's SHA-256 and, when a delta upload is possible, its plan: the server's block
 * hashes of `baseRev`. With the SHA-256 given, the blocks are compared while they are
 * sent (the server assembles the file meanwhile); without, the file is hashed block by
 * block (and whole) while the server answers. No delta, no SHA-256 given and a server
 * with `eof-hash`: null, the file is hashed while it is sent.
 * @throws connection errors and local read errors; a server that cannot give the blocks
 * (no such version, no feature) only means no delta.
 */
async function prepare(
  connection: Connection,
  localPath: string,
  remotePath: string,
  size: number,
  options: UploadOptions,
): Promise<{ sha256: string | null; delta: DeltaUpload | null }> {
  const { signal } = options;
  const hashOptions = signal === undefined ? {} : { signal };
  const isPossible = options.baseRev !== null && options.delta !== false && connection.negotiated.features.includes(FEATURE.delta) && size >= DELTA_MIN_FILE_BYTES;
  // Without a base revision (an unconditional upload), the version to start from is
  // whatever the path holds now, if anything.
  const baseRev = !isPossible ? null : options.baseRev ?? (await currentRev(connection, remotePath, signal));
  if (baseRev === null) {
    const hashAtEof = options.sha256 === undefined && connection.negotiated.features.includes(FEATURE.eofHash);
    return { sha256: options.sha256 ?? (hashAtEof ? null : await sha256File(localPath, hashOptions)), delta: null };
  }
  const blockBytes = deltaBlockBytes(size);
  const remote = baseBlocks(connection, remotePath, blockBytes, signal);
  if (options.sha256 !== undefined) {
    const base = await remote;
    const delta = base === null || base.rev !== baseRev ? null : { rev: base.rev, blockBytes, base, ranges: null };
    return { sha256: options.sha256, delta };
  }
  const local = await sha256FileBlocks(localPath, blockBytes, hashOptions).catch(async (err: unknown) => {
    await remote.catch(() => undefined);
    throw err;
  });
  const base = await remote;
  if (base === null || base.rev !== baseRev || local.size !== size) return { sha256: local.sha256, delta: null };
  return { sha256: local.sha256, delta: { rev: base.rev, blockBytes, base, ranges: planDelta(local, base, blockBytes) } };
}

/** The revision of the file at `remotePath`, or null when there is none. */
async function currentRev(connection: Connection, remotePath: string, signal: AbortSignal | undefined): Promise<number | null> {
  try {
    const entry = decodeReply(replySchemas.entry, expectHead(await connection.request(REQUEST.stat, { path: remotePath }, signal), REPLY.ok)).entry;
    return entry.kind === 'file' && !entry.deleted ? entry.rev : null;
  } catch (err) {
    // Nothing there (or no answer the upload could use): upload every byte.
    if (err instanceof FosError && connection.isUsable) return null;
    throw err;
  }
}

/** The server's block hashes of `remotePath`, or null when it cannot give them. */
async function baseBlocks(
  connection: Connection,
  remotePath: string,
  blockBytes: number,
  signal: AbortSignal | undefined,
): Promise<{ rev: number; size: number; blocks: readonly string[] } | null> {
  try {
    const line = expectHead(await connection.request(REQUEST.blocks, { path: remotePath, blockBytes }, signal), REPLY.ok);
    const reply = decodeReply(replySchemas.blocks, line);
    return reply.blockBytes === blockBytes ? reply : null;
  } catch (err) {
    // An ERR reply leaves the connection usable: upload every byte instead.
    if (err instanceof FosError && connection.isUsable) return null;
    throw err;
  }
}

interface SenderSettings {
  readonly localPath: string;
  readonly size: number;
  readonly offset: number;
  /** How chunks are compressed; null: sent plain. */
  readonly method: FrameCompression | null;
  readonly options: UploadOptions;
  /** Hashes every byte of the file (a resumed prefix too), for `EOF`; null: `UPLOAD` named it. */
  readonly hashAtEof: Hash | null;
}

/** Sends the file from the server's offset with a sliding window of acknowledgements. */
class WindowSender {
  readonly #connection: Connection;
  readonly #file: FileHandle;
  readonly #settings: SenderSettings;
  #acked: number;
  #sent: number;
  #plainChunks = 0;
  #eofSent = false;

  constructor(connection: Connection, file: FileHandle, settings: SenderSettings) {
    this.#connection = connection;
    this.#file = file;
    this.#settings = settings;
    this.#acked = settings.offset;
    this.#sent = settings.offset;
  }

  async sendAll(): Promise<void> {
    const { size } = this.#settings;
    const { chunkBytes } = this.#connection.negotiated;
    const readBytes = Math.max(chunkBytes, Math.floor(READ_BYTES / chunkBytes) * chunkBytes);
    // Chunks read and being encoded, oldest first: compression of the next few runs on
    // the thread pool while this one goes out.
    const ahead: { readonly length: number; readonly frame: Promise<PackedFrame> }[] = [];
    const { hashAtEof } = this.#settings;
    if (hashAtEof !== null) await this.#hashPrefix(hashAtEof, readBytes);
    let position = this.#sent;
    let nextRead = position < size ? this.#read(position, Math.min(readBytes, size - position)) : null;
    try {
      while (nextRead !== null || ahead.length > 0) {
        while (nextRead !== null && ahead.length < this.#depth()) {
          const block = await nextRead;
          hashAtEof?.update(block);
          position += block.length;
          // Read the next block while this one is encoded and goes out.
          nextRead = position < size ? this.#read(position, Math.min(readBytes, size - position)) : null;
          for (let at = 0; at < block.length; at += chunkBytes) {
            const chunk = block.subarray(at, Math.min(at + chunkBytes, block.length));
            const frame = this.#encode(chunk);
            frame.catch(() => undefined);
            ahead.push({ length: chunk.length, frame });
          }
        }
        const next = ahead.shift();
        if (next !== undefined) await this.#sendChunk(next.length, await next.frame);
      }
    } catch (err) {
      // Let the read in flight settle before the caller closes the file.
      await nextRead?.catch(() => undefined);
      throw err;
    }
  }

  /** Hashes the bytes the server already holds (a resume), which are not sent again. */
  async #hashPrefix(hash: Hash, readBytes: number): Promise<void> {
    for (let at = 0; at < this.#settings.offset; at += readBytes) {
      hash.update(await this.#read(at, Math.min(readBytes, this.#settings.offset - at)));
    }
  }

  /**
   * Sends a delta upload from offset 0: `COPY` lines for the ranges the base holds, data
   * frames for the others.
   */
  async sendDelta(ranges: readonly DeltaRange[]): Promise<void> {
    const { chunkBytes } = this.#connection.negotiated;
    for (const range of ranges) {
      const end = range.offset + range.length;
      if (range.isCopy) {
        this.#copy(range.offset, range.length);
        continue;
      }
      for (let at = range.offset; at < end; at += chunkBytes) {
        const chunk = await this.#read(at, Math.min(chunkBytes, end - at));
        await this.#sendChunk(chunk.length, await this.#encode(chunk));
      }
    }
  }

  /**
   * Sends a delta upload from offset 0, hashing each block as it is read (one read ahead):
   * a block the base has at the same index goes as `COPY`, any other as data. The
   * server assembles the file while the rest is still being hashed here.
   */
  async streamDelta(base: BlockList, blockBytes: number): Promise<void> {
    const { size } = this.#settings;
    const { chunkBytes } = this.#connection.negotiated;
    let run = { offset: 0, length: 0 };
    let next: Promise<Buffer> | null = size > 0 ? this.#read(0, Math.min(blockBytes, size)) : null;
    try {
      for (let offset = 0, index = 0; next !== null; index += 1) {
        const block = await next;
        const end = offset + block.length;
        next = end < size ? this.#read(end, Math.min(blockBytes, size - end)) : null;
        const baseLength = Math.min(blockBytes, base.size - offset);
        if (index < base.blocks.length && baseLength === block.length && blockHash(block) === base.blocks[index]) {
          run = run.length === 0 ? { offset, length: block.length } : { offset: run.offset, length: run.length + block.length };
          // Copies go out as they pile up, so the server copies while this side hashes.
          if (run.length >= this.#copyBytes()) {
            this.#copy(run.offset, run.length);
            run = { offset: 0, length: 0 };
          }
        } else {
          this.#copy(run.offset, run.length);
          run = { offset: 0, length: 0 };
          for (let at = 0; at < block.length; at += chunkBytes) {
            const chunk = block.subarray(at, Math.min(at + chunkBytes, block.length));
            await this.#sendChunk(chunk.length, await this.#encode(chunk));
          }
        }
        offset = end;
      }
      this.#copy(run.offset, run.length);
    } catch (err) {
      // Let the read in flight settle before the caller closes the file.
      await next?.catch(() => undefined);
      throw err;
    }
  }

  /** Most bytes one `COPY` line names: half a window, so acknowledgements keep coming. */
  #copyBytes(): number {
    const { chunkBytes, windowBytes } = this.#connection.negotiated;
    return Math.max(chunkBytes, Math.floor(windowBytes / 2));
  }

  /**
   * `COPY` lines for `[offset, offset + length)`, each at most `#copyBytes()`. They go out
   * without waiting for the window: they carry no bytes, the server copies in order, and
   * the data frames that follow wait for the acknowledgements of the copied bytes.
   */
  #copy(offset: number, length: number): void {
    const copyBytes = this.#copyBytes();
    const end = offset + length;
    for (let at = offset; at < end; at += copyBytes) {
      const piece = Math.min(copyBytes, end - at);
      this.#takeQueuedAcks();
      this.#connection.sendLine(TRANSFER_LINE.copy, { offset: at, length: piece });
      this.#sent += piece;
    }
  }

  /** Chunks kept encoding ahead: several while compressing, none otherwise. */
  #depth(): number {
    return this.#settings.method === null ? 1 : COMPRESS_AHEAD_CHUNKS;
  }

  /** Sends EOF and reads acknowledgements until the final OK. @throws the server's error. */
  async finish(): Promise<Entry> {
    const { hashAtEof } = this.#settings;
    this.#connection.sendLine(REPLY.eof, hashAtEof === null ? undefined : { sha256: hashAtEof.digest('hex') });
    this.#eofSent = true;
    for (;;) {
      const line = await this.#nextLine();
      if (line.head === REPLY.ack) {
        this.#onAck(line);
        continue;
      }
      if (line.head === REPLY.ok) return decodeReply(replySchemas.entry, line).entry;
      throw this.#connection.breakWith(protocolError(`expected OK after EOF, got ${line.head}`));
    }
  }

  async #sendChunk(length: number, frame: PackedFrame): Promise<void> {
    const { chunkBytes } = this.#connection.negotiated;
    const { signal } = this.#settings.options;
    await this.#waitForWindow(length);
    const flowing = this.#connection.writeAll([encodeFrameHeader(frame.flags, frame.payload.length), frame.payload]);
    this.#sent += length;
    // The window bounds memory; waiting for 'drain' beyond a couple of chunks keeps the
    // socket's own buffer small without a wait per chunk.
    if (!flowing && this.#connection.writableBytes > 2 * chunkBytes) await this.#connection.drain(signal);
  }

  /** Reads acknowledgements until `length` more bytes fit in the window. */
  async #waitForWindow(length: number): Promise<void> {
    const { windowBytes } = this.#connection.negotiated;
    this.#takeQueuedAcks();
    while (this.#sent - this.#acked + length > windowBytes) {
      const line = await this.#nextLine();
      if (line.head !== REPLY.ack) throw this.#connection.breakWith(protocolError(`expected ${REPLY.ack}, got ${line.head}`));
      this.#onAck(line);
    }
  }

  async #encode(chunk: Buffer): Promise<PackedFrame> {
    const { method } = this.#settings;
    if (method === null) return { flags: 0, payload: chunk };
    if (this.#plainChunks > 0) {
      this.#plainChunks -= 1;
      return { flags: 0, payload: chunk };
    }
    const frame = await packFrame(chunk, method);
    if (frame.flags === 0) this.#plainChunks = COMPRESS_BACKOFF_CHUNKS;
    return frame;
  }

  #takeQueuedAcks(): void {
    for (let message = this.#connection.poll(); message !== undefined; message = this.#connection.poll()) {
      this.#onAck(this.#asLine(message));
    }
  }

  async #nextLine(): Promise<LineMessage> {
    return this.#asLine(await this.#connection.nextMessage({ signal: this.#settings.options.signal }));
  }

  /** A control line from the server; ERR in the middle of a transfer ends the connection. */
  #asLine(message: Message): LineMessage {
    if (message.kind !== 'line') throw this.#connection.breakWith(protocolError('the server sent a data frame during an upload'));
    if (message.head === REPLY.err) {
      const err = errorFromReply(message);
      // Before EOF, frames already on the wire would reach the server outside any request.
      if (!this.#eofSent) this.#connection.breakWith(err);
      throw err;
    }
    return message;
  }

  #onAck(line: LineMessage): void {
    if (line.head !== REPLY.ack) throw this.#connection.breakWith(protocolError(`expected ${REPLY.ack}, got ${line.head}`));
    const { offset } = decodeReply(replySchemas.ack, line);
    if (offset > this.#sent) throw this.#connection.breakWith(protocolError(`acknowledged ${offset} bytes, only ${this.#sent} sent`));
    if (offset > this.#acked) {
      this.#acked = offset;
      this.#settings.options.onProgress?.({ bytes: offset, total: this.#settings.size });
    }
  }

  async #read(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.#file.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < length) throw this.#connection.breakWith(changedError(this.#settings.localPath));
    return buffer;
  }
}

/** The options without a caller's hash. */
function withoutHash(options: UploadOptions): UploadOptions {
  const copy: { -readonly [K in keyof UploadOptions]: UploadOptions[K] } = { ...options };
  delete copy.sha256;
  return copy;
}

async function openLocal(localPath: string): Promise<FileHandle> {
  try {
    return await open(localPath, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new FosError('FOS_ERR_PATH_NOT_FOUND', `no such local file: ${localPath}`, { cause: err });
    throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `cannot read ${localPath}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function hasChanged(file: FileHandle, before: Stats): Promise<boolean> {
  const after = await file.stat();
  return after.size !== before.size || after.mtimeMs !== before.mtimeMs;
}

function changedError(what: string, cause?: unknown): FosError {
  return new FosError('FOS_ERR_SYNC_LOCAL_CHANGED', `${what} changed while it was being uploaded; upload it again once it is complete`, {
    cause,
  });
}
