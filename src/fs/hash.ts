/**
 * SHA-256 of files, streamed: whole files for the scanner and the server's start-up
 * reconcile, and a writer that hashes while it writes for uploads in flight, so the bytes
 * are read once (DESIGN.md "Server storage": an upload streams into tmp/, hashing as it
 * writes).
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { FosError } from '../errors.js';
import { BLOCK_HASH_HEX } from '../protocol/constants.js';
import { nodeFs, storageError } from './fs.js';
import type { Fs, WritableFile } from './fs.js';

/** Options of `sha256File`. */
export interface HashOptions {
  /** Stops reading; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Bytes per read when hashing a file. 1 MiB reads cost a sixteenth of the calls and
 * promise turns of the stream's 64 KiB default; SHA-256 then runs at memory speed.
 */
const HASH_READ_BYTES = 1024 * 1024;

async function feed(hash: Hash, path: string, signal: AbortSignal | undefined): Promise<number> {
  const stream = createReadStream(path, { highWaterMark: HASH_READ_BYTES, ...(signal === undefined ? {} : { signal }) });
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    hash.update(buf);
    bytes += buf.length;
  }
  return bytes;
}

function rethrow(err: unknown, signal: AbortSignal | undefined, action: string): never {
  if (signal?.aborted === true) throw signal.reason;
  throw storageError(err, action);
}

/**
 * Lower-case hex SHA-256 of a file's content, read as a stream.
 * @throws the signal's reason when aborted; FosError `FOS_ERR_PATH_NOT_FOUND` when the file
 * is missing, `FOS_ERR_STORE_WRITE` for other read errors.
 */
export async function sha256File(path: string, options: HashOptions = {}): Promise<string> {
  const { signal } = options;
  signal?.throwIfAborted();
  const hash = createHash('sha256');
  try {
    await feed(hash, path, signal);
  } catch (err) {
    rethrow(err, signal, `cannot hash ${path}`);
  }
  return hash.digest('hex');
}

/** The hash a BLOCKS reply gives a delta block: its SHA-256, cut to BLOCK_HASH_HEX hex digits. */
export function blockHash(block: Uint8Array): string {
  return createHash('sha256').update(block).digest('hex').slice(0, BLOCK_HASH_HEX);
}

/** A file's SHA-256 and the hashes of its delta blocks. */
export interface BlockHashes {
  readonly sha256: string;
  readonly size: number;
  readonly blocks: readonly string[];
}

/** Hashes a stream of bytes block by block (delta block hashes), fed in any pieces. */
export class BlockHasher {
  readonly #blockBytes: number;
  readonly #blocks: string[] = [];
  #block: Hash = createHash('sha256');
  #inBlock = 0;

  constructor(blockBytes: number) {
    this.#blockBytes = blockBytes;
  }

  /** Adds the next bytes. */
  update(bytes: Uint8Array): void {
    let rest = bytes;
    while (rest.length > 0) {
      const take = Math.min(rest.length, this.#blockBytes - this.#inBlock);
      this.#block.update(take === rest.length ? rest : rest.subarray(0, take));
      this.#inBlock += take;
      rest = rest.subarray(take);
      if (this.#inBlock === this.#blockBytes) {
        this.#blocks.push(this.#block.digest('hex').slice(0, BLOCK_HASH_HEX));
        this.#block = createHash('sha256');
        this.#inBlock = 0;
      }
    }
  }

  /**
   * Adds a whole block whose hash is already known (a block copied from a version whose
   * hashes are recorded), without hashing it again. Only at a block boundary, and only a
   * full block or the stream's last one; false (nothing added) otherwise.
   */
  addKnown(hash: string, length: number, isLast: boolean): boolean {
    if (this.#inBlock !== 0 || (length !== this.#blockBytes && !(isLast && length < this.#blockBytes))) return false;
    this.#blocks.push(hash);
    return true;
  }

  /** The block hashes, a last short block included. Call once. */
  finish(): string[] {
    if (this.#inBlock > 0) this.#blocks.push(this.#block.digest('hex').slice(0, BLOCK_HASH_HEX));
    this.#inBlock = 0;
    return this.#blocks;
  }
}

/**
 * The SHA-256 of a file and of each of its `blockBytes` blocks, in one read of the file;
 * with `isWholeKnown`, only the blocks' (`sha256` is then '').
 * @throws as `sha256File` does.
 */
export async function sha256FileBlocks(
  path: string,
  blockBytes: number,
  options: HashOptions & { readonly isWholeKnown?: boolean } = {},
): Promise<BlockHashes> {
  const { signal } = options;
  signal?.throwIfAborted();
  const hashesWhole = options.isWholeKnown !== true;
  const whole = createHash('sha256');
  const blocks = new BlockHasher(blockBytes);
  let size = 0;
  try {
    const stream = createReadStream(path, { highWaterMark: Math.min(blockBytes, HASH_READ_BYTES), ...(signal === undefined ? {} : { signal }) });
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      if (hashesWhole) whole.update(buf);
      blocks.update(buf);
      size += buf.length;
    }
  } catch (err) {
    rethrow(err, signal, `cannot hash ${path}`);
  }
  return { sha256: hashesWhole ? whole.digest('hex') : '', size, blocks: blocks.finish() };
}

/** Files up to this size are hashed from one synchronous read (`sha256File`'s `sizeHint`). */
export const SMALL_FILE_BYTES = 64 * 1024;

/** Options of `sha256File`. */
export interface FileHashOptions extends HashOptions {
  /**
   * The size the caller saw (lstat). A small file is read in one synchronous call: a stream
   * and its thread-pool round trips cost far more than the bytes for 4 KiB (issue 8).
   */
  readonly sizeHint?: number;
}

/**
 * Lower-case hex SHA-256 of a file's content: small files (by `sizeHint`) in one read,
 * others as a stream.
 * @throws as `sha256File`.
 */
export async function sha256FileSized(path: string, options: FileHashOptions = {}): Promise<string> {
  const { sizeHint, signal } = options;
  if (sizeHint === undefined || sizeHint > SMALL_FILE_BYTES) return sha256File(path, signal === undefined ? {} : { signal });
  signal?.throwIfAborted();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    rethrow(err, signal, `cannot hash ${path}`);
  }
  return createHash('sha256').update(bytes).digest('hex');
}

/** Hex SHA-256 of bytes in memory. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Options of `HashingWriter.open`. */
export interface HashingWriterOptions {
  /** The filesystem to write through; `nodeFs` by default. */
  readonly fs?: Fs;
  /**
   * Continue a partial file: its existing bytes are hashed first, then writes append.
   * Without it the file must not exist yet.
   */
  readonly resume?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Writes a file while hashing what it writes. After `finish()` the bytes are fsynced and
 * `sha256` and `bytesWritten` describe the whole file (resumed prefix included).
 */
export class HashingWriter {
  readonly path: string;
  #file: WritableFile;
  #hash: Hash;
  #bytes: number;
  #digest: string | undefined;

  private constructor(path: string, file: WritableFile, hash: Hash, bytes: number) {
    this.path = path;
    this.#file = file;
    this.#hash = hash;
    this.#bytes = bytes;
  }

  /**
   * Opens `path` for writing (exclusively, or appending with `resume`).
   * @throws FosError `FOS_ERR_STORE_NO_SPACE`, `FOS_ERR_PATH_NOT_FOUND` or
   * `FOS_ERR_STORE_WRITE` from the filesystem; the signal's reason when aborted.
   */
  static async open(path: string, options: HashingWriterOptions = {}): Promise<HashingWriter> {
    const fs = options.fs ?? nodeFs;
    const { signal } = options;
    signal?.throwIfAborted();
    const hash = createHash('sha256');
    let bytes = 0;
    if (options.resume === true) {
      try {
        bytes = await feed(hash, path, signal);
      } catch (err) {
        rethrow(err, signal, `cannot resume ${path}`);
      }
    }
    try {
      const file = await fs.openForWrite(path, options.resume === true ? 'append' : 'exclusive');
      return new HashingWriter(path, file, hash, bytes);
    } catch (err) {
      throw storageError(err, `cannot open ${path}`);
    }
  }

  /** Bytes in the file so far, including a resumed prefix. */
  get bytesWritten(): number {
    return this.#bytes;
  }

  /**
   * Appends bytes and adds them to the hash.
   * @throws FosError `FOS_ERR_STORE_NO_SPACE` when the disk is full, `FOS_ERR_STORE_WRITE`
   * otherwise; the hash then no longer matches the file and the writer must be aborted.
   */
  async write(data: Uint8Array): Promise<void> {
    if (this.#digest !== undefined) throw new FosError('FOS_ERR_STORE_WRITE', 'write after finish');
    // The write goes to libuv's thread pool first and the hash runs on this thread while
    // it is under way: the two overlap instead of taking turns.
    const written = this.#file.write(data);
    this.#hash.update(data);
    try {
      await written;
    } catch (err) {
      throw storageError(err, `cannot write ${this.path}`);
    }
    this.#bytes += data.length;
  }

  /**
   * fsyncs and closes the file and returns its hex SHA-256. Idempotent.
   * @throws FosError `FOS_ERR_STORE_WRITE` (or `FOS_ERR_STORE_NO_SPACE`) when fsync fails.
   */
  async finish(): Promise<string> {
    if (this.#digest !== undefined) return this.#digest;
    try {
      await this.#file.sync();
    } catch (err) {
      await this.#file.close();
      throw storageError(err, `cannot sync ${this.path}`);
    }
    await this.#file.close();
    this.#digest = this.#hash.digest('hex');
    return this.#digest;
  }

  /** The hex SHA-256 after `finish()`; undefined before. */
  get sha256(): string | undefined {
    return this.#digest;
  }

  /** Closes the file without syncing; the partial file stays for a later resume. Idempotent. */
  async close(): Promise<void> {
    await this.#file.close();
  }
}

/** What `copyFileHashed` wrote. */
export interface CopiedFile {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Copies `from` into a new file `to` (which must not exist), hashing the bytes as they are
 * written, and fsyncs it. On failure the partial copy is removed.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND` when `from` is missing, `FOS_ERR_STORE_NO_SPACE`
 * when the disk is full, `FOS_ERR_STORE_WRITE` otherwise (an existing `to` included).
 */
export async function copyFileHashed(from: string, to: string, options: { readonly fs?: Fs } = {}): Promise<CopiedFile> {
  const fs = options.fs ?? nodeFs;
  // Opened before the target exists, so a missing source leaves nothing behind.
  const source = createReadStream(from);
  const opened = new Promise<void>((resolve, reject) => {
    source.once('open', () => resolve());
    source.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    throw storageError(err, `cannot read ${from}`);
  }
  const writer = await HashingWriter.open(to, { fs }).catch((err: unknown) => {
    source.destroy();
    throw err;
  });
  try {
    for await (const chunk of source) await writer.write(chunk as Buffer);
    const sha256 = await writer.finish();
    return { bytes: writer.bytesWritten, sha256 };
  } catch (err) {
    source.destroy();
    await writer.close();
    // The copy failed and that error is what the caller needs; a leftover partial file sits
    // in a folder of fos's own and is swept with it.
    await fs.unlink(to).catch(() => undefined);
    throw storageError(err, `cannot copy ${from}`);
  }
}
