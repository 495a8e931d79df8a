/**
 * Many small files in few requests (`UPLOADS`, issue 8): each file is read whole and hashed
 * from that one read, the files go in batches that fit the window (READY, their frames,
 * EOF, one result per file), so a batch costs two round trips instead of two per file. A
 * server without the feature gets one UPLOAD per file on the same connection.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FosError, asFosError, errnoCode, fromWireCode } from '../errors.js';
import { FEATURE, MAX_BATCH_BYTES, MAX_BATCH_FILES, REPLY, REQUEST } from '../protocol/constants.js';
import { encodeFrameHeader } from '../protocol/encode.js';
import { decodeReply, replySchemas } from '../protocol/messages.js';
import type { Entry } from '../protocol/types.js';
import { throwIfAborted } from './clock.js';
import type { Connection } from './connection.js';
import { expectHead, protocolError } from './replies.js';
import { uploadFile } from './upload.js';

/** Files up to this size are worth sending in a batch; larger ones go one UPLOAD each. */
export const BATCH_FILE_MAX_BYTES = 256 * 1024;

/** Request line bytes the files of one batch may take (the server's limit is 64 KiB). */
const BATCH_LINE_BYTES = 48 * 1024;

/** One file of a batch upload. */
export interface BatchUploadFile {
  readonly localPath: string;
  readonly remotePath: string;
  /** As UPLOAD's: a number, null (only if the path is free) or absent (unconditional). */
  readonly baseRev?: number | null;
  /** Modification time to record, whole milliseconds. */
  readonly mtimeMs: number;
  /**
   * The size and mtime the caller saw (a scan): a file that differs now, or changes while
   * it is read, fails with `FOS_ERR_SYNC_LOCAL_CHANGED` and is not sent.
   */
  readonly expect?: { readonly size: number; readonly mtimeMs: number };
}

/** What became of one file. */
export type BatchUploadResult = { readonly kind: 'committed'; readonly entry: Entry } | { readonly kind: 'failed'; readonly error: FosError };

interface ReadFile {
  readonly index: number;
  readonly file: BatchUploadFile;
  readonly bytes: Buffer;
  readonly sha256: string;
}

/**
 * Uploads `files` and returns one result per file, in order. A file's own failure (gone,
 * changed, refused by the server) is its result.
 * @throws FosError when the connection fails (the whole call may be retried) or the abort error.
 */
export async function uploadBatch(connection: Connection, files: readonly BatchUploadFile[], options: { readonly signal?: AbortSignal } = {}): Promise<BatchUploadResult[]> {
  const { signal } = options;
  throwIfAborted(signal);
  const results: (BatchUploadResult | undefined)[] = files.map(() => undefined);
  const ready: ReadFile[] = [];
  const single: number[] = [];
  for (const [index, file] of files.entries()) {
    if (file.expect !== undefined && file.expect.size > BATCH_FILE_MAX_BYTES) {
      single.push(index);
      continue;
    }
    try {
      const { bytes, sha256 } = readWhole(file);
      ready.push({ index, file, bytes, sha256 });
    } catch (err) {
      results[index] = { kind: 'failed', error: asFosError(err) };
    }
  }
  throwIfAborted(signal);
  const batched = connection.negotiated.features.includes(FEATURE.uploads);
  if (batched) {
    const maxBytes = Math.min(MAX_BATCH_BYTES, connection.negotiated.windowBytes);
    // A file larger than a whole batch (a small window) goes on its own.
    single.push(...ready.filter((read) => read.bytes.length > maxBytes).map((read) => read.index));
    for (const batch of cut(ready.filter((read) => read.bytes.length <= maxBytes), maxBytes)) {
      const outcomes = await sendBatch(connection, batch, signal);
      batch.forEach((read, i) => {
        results[read.index] = outcomes[i];
      });
    }
  } else {
    single.push(...ready.map((read) => read.index));
  }
  for (const index of single.sort((a, b) => a - b)) {
    const file = files[index] as BatchUploadFile;
    try {
      const entry = await uploadFile(connection, file.localPath, file.remotePath, {
        mtimeMs: file.mtimeMs,
        ...(file.baseRev === undefined ? {} : { baseRev: file.baseRev }),
        ...(signal === undefined ? {} : { signal }),
      });
      results[index] = { kind: 'committed', entry };
    } catch (err) {
      // A broken connection fails the whole call: the caller retries or gives up on all.
      if (!connection.isUsable || signal?.aborted === true) throw err;
      results[index] = { kind: 'failed', error: asFosError(err) };
    }
  }
  return results.map((result) => result ?? { kind: 'failed', error: new FosError('FOS_ERR_SYNC_LOCAL_IO', 'the file was not sent') });
}

/** Files in request-sized batches: at most `maxBytes` of content, MAX_BATCH_FILES files, and a line that fits. */
function cut(files: readonly ReadFile[], maxBytes: number): ReadFile[][] {
  const batches: ReadFile[][] = [];
  let current: ReadFile[] = [];
  let bytes = 0;
  let lineBytes = 0;
  for (const read of files) {
    const size = read.bytes.length;
    const metaBytes = Buffer.byteLength(JSON.stringify(metaOf(read))) + 1;
    if (current.length > 0 && (current.length >= MAX_BATCH_FILES || bytes + size > maxBytes || lineBytes + metaBytes > BATCH_LINE_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
      lineBytes = 0;
    }
    current.push(read);
    bytes += size;
    lineBytes += metaBytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function metaOf(read: ReadFile): Record<string, unknown> {
  const { file } = read;
  return {
    path: file.remotePath,
    size: read.bytes.length,
    sha256: read.sha256,
    mtimeMs: file.mtimeMs,
    ...(file.baseRev === undefined ? {} : { baseRev: file.baseRev }),
  };
}

/** One UPLOADS exchange. @throws FosError when the request is refused whole or the connection fails. */
async function sendBatch(connection: Connection, batch: readonly ReadFile[], signal: AbortSignal | undefined): Promise<BatchUploadResult[]> {
  expectHead(await connection.request(REQUEST.uploads, { files: batch.map(metaOf) }, signal), REPLY.ready);
  const { chunkBytes } = connection.negotiated;
  for (const read of batch) {
    for (let at = 0; at < read.bytes.length; at += chunkBytes) {
      const chunk = read.bytes.subarray(at, Math.min(at + chunkBytes, read.bytes.length));
      // The whole batch fits the window: no acknowledgements to wait for, only the socket.
      if (!connection.writeAll([encodeFrameHeader(0, chunk.length), chunk])) await connection.drain(signal);
    }
  }
  connection.sendLine(REPLY.eof);
  const reply = await connection.nextLine({ ...(signal === undefined ? {} : { signal }) });
  const { results } = decodeReply(replySchemas.uploaded, expectHead(reply, REPLY.ok));
  if (results.length !== batch.length) throw connection.breakWith(protocolError(`${results.length} results for a batch of ${batch.length}`));
  return results.map((result): BatchUploadResult => {
    if ('entry' in result) return { kind: 'committed', entry: result.entry };
    const { code, message, ...details } = result.error;
    return { kind: 'failed', error: fromWireCode(code, message, details) };
  });
}

/**
 * Reads a small file whole, checking it against what the caller expects and that it held
 * still. Synchronous: for a few KiB, five round trips through the thread pool per file
 * (open, stat, read, stat, close) cost many times the work itself (issue 8).
 */
function readWhole(file: BatchUploadFile): { bytes: Buffer; sha256: string } {
  let fd: number;
  try {
    fd = openSync(file.localPath, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new FosError('FOS_ERR_PATH_NOT_FOUND', `no such local file: ${file.localPath}`, { cause: err });
    throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `cannot read ${file.localPath}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  try {
    const before = fstatSync(fd);
    if (!before.isFile()) throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `${file.localPath} is not a regular file`);
    const expect = file.expect;
    if (expect !== undefined && (before.size !== expect.size || Math.floor(before.mtimeMs) !== Math.floor(expect.mtimeMs))) throw changedError(file.localPath);
    const bytes = Buffer.allocUnsafe(before.size);
    let filled = 0;
    while (filled < bytes.length) {
      const read = readSync(fd, bytes, filled, bytes.length - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    const after = fstatSync(fd);
    if (filled !== before.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw changedError(file.localPath);
    return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (err) {
    if (err instanceof FosError) throw err;
    throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `cannot read ${file.localPath}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

function changedError(what: string): FosError {
  return new FosError('FOS_ERR_SYNC_LOCAL_CHANGED', `${what} changed while it was being read; it is sent once it holds still`);
}
