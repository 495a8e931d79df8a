/**
 * Download and preview over FOS/2. A download lands in a temporary file beside the target,
 * named after the content's SHA-256 so that a rerun resumes from the bytes it kept; the
 * file is verified, fsynced, given the entry's mtime and renamed into place.
 */
import { open, stat, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FosError, errnoCode } from '../errors.js';
import { renameDurable } from '../fs/atomic.js';
import { storageError } from '../fs/fs.js';
import { HashingWriter } from '../fs/hash.js';
import { TEMP_PREFIX } from '../fs/remote-path.js';
import { DEFAULT_PREVIEW_BYTES, MAX_CHUNK_BYTES, REPLY, REQUEST } from '../protocol/constants.js';
import { unpackFrame } from '../protocol/frame-compression.js';
import type { LineMessage } from '../protocol/frame-decoder.js';
import { decodeReply, errorFromReply, replySchemas } from '../protocol/messages.js';
import type { Entry } from '../protocol/types.js';
import { throwIfAborted } from './clock.js';
import { expectHead, protocolError } from './replies.js';
import type { Connection } from './connection.js';
import { AckingWriter } from './acking-writer.js';
import type { Preview, ProgressFn } from './types.js';

/** Longest part of the target's name kept in a temporary name, so it stays under 255 bytes. */
const TEMP_NAME_CHARS = 100;

/** Options of `downloadFile`. */
export interface DownloadOptions {
  /** The entry as a listing gave it; saves a STAT. A stale one is detected and refetched. */
  readonly entry?: Entry;
  readonly onProgress?: ProgressFn;
  readonly signal?: AbortSignal;
  /** Ask the server to gzip chunks that shrink (default false). */
  readonly compress?: boolean;
  /** Keep the temporary file when aborted, for a later resume (default false: removed). */
  readonly keepPartialOnAbort?: boolean;
}

/**
 * The temporary name a download of `localPath` with this content uses:
 * `.fos-tmp-<name>.<sha256 prefix>.part` in the same folder.
 */
export function partialPath(localPath: string, sha256: string): string {
  const name = basename(localPath).slice(0, TEMP_NAME_CHARS);
  return join(dirname(localPath), `${TEMP_PREFIX}${name}.${sha256.slice(0, 16)}.part`);
}

/**
 * Downloads `remotePath` to `localPath`, resuming from a kept temporary file, and returns
 * the entry it wrote. Nothing appears under `localPath` unless the SHA-256 matched.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PATH_NOT_FILE` (a folder),
 * `FOS_ERR_STORE_CHECKSUM` (bytes do not match), `FOS_ERR_STORE_CHANGED` (the file changed
 * on the server mid-resume; retry), `FOS_ERR_STORE_NO_SPACE` / `FOS_ERR_STORE_WRITE` (local
 * disk), connection errors, or the abort error.
 */
export async function downloadFile(
  connection: Connection,
  remotePath: string,
  localPath: string,
  options: DownloadOptions = {},
): Promise<Entry> {
  const { signal } = options;
  throwIfAborted(signal);
  const expected = options.entry ?? (await statEntry(connection, remotePath, signal));
  if (expected.kind !== 'file' || expected.deleted) {
    throw new FosError('FOS_ERR_PATH_NOT_FILE', `${remotePath} is a folder, not a file`);
  }
  const temp = partialPath(localPath, expected.sha256);
  const kept = await keptBytes(temp, expected.size);
  // A fresh file is created here, with the usual mode (0666 less the umask), and then
  // continued like a kept one: the storage writer would create it private (0600).
  if (kept === 0) await createEmpty(temp);
  const file = await HashingWriter.open(temp, { resume: true, ...signalOption(signal) });
  let done = false;
  let writer: AckingWriter | null = null;
  try {
    const request = { path: remotePath, offset: file.bytesWritten, ...(options.compress === true ? { compress: true } : {}) };
    const line = expectHead(await connection.request(REQUEST.download, request, signal), REPLY.sending);
    const sending = decodeReply(replySchemas.sending, line);
    if (sending.entry.sha256 !== expected.sha256 && sending.offset > 0) {
      // Our kept bytes belong to another version: start over on a fresh connection.
      await unlinkQuietly(temp);
      throw connection.breakWith(
        new FosError('FOS_ERR_STORE_CHANGED', `${remotePath} changed on the server during the download; starting over`),
      );
    }
    if (sending.offset !== file.bytesWritten) {
      throw connection.breakWith(protocolError(`asked for offset ${file.bytesWritten}, the server sends from ${sending.offset}`));
    }
    const entry = sending.entry;
    const total = sending.offset + sending.length;
    writer = new AckingWriter(connection, file, (bytes) => options.onProgress?.({ bytes, total }));
    const eof = await receiveFrames(connection, writer, { start: sending.offset, total }, signal);
    await writer.settled();
    const digest = await file.finish();
    if (digest !== entry.sha256 || (eof.sha256 !== undefined && eof.sha256 !== entry.sha256)) {
      await unlinkQuietly(temp);
      throw new FosError('FOS_ERR_STORE_CHECKSUM', `the downloaded ${remotePath} does not match its SHA-256; download it again`);
    }
    await utimes(temp, entry.mtimeMs / 1000, entry.mtimeMs / 1000);
    await renameDurable(temp, localPath);
    done = true;
    options.onProgress?.({ bytes: total, total });
    return entry;
  } finally {
    if (!done) {
      // A write in flight must finish before the file is closed under it.
      await writer?.settled().catch(() => undefined);
      await file.close();
      if (signal?.aborted === true && options.keepPartialOnAbort !== true) await unlinkQuietly(temp);
    }
  }
}

/** Receives data frames up to `total` bytes and returns the closing EOF. */
async function receiveFrames(
  connection: Connection,
  writer: AckingWriter,
  range: { readonly start: number; readonly total: number },
  signal: AbortSignal | undefined,
): Promise<{ sha256?: string | undefined }> {
  const { total } = range;
  let received = range.start;
  for (;;) {
    const message = connection.poll() ?? (await connection.nextMessage({ signal }));
    if (message.kind === 'data') {
      const payload = await unpacked(connection, message.flags, message.payload);
      received += payload.length;
      if (received > total) throw connection.breakWith(protocolError(`the server sent more than the ${total} bytes announced`));
      writer.push(payload);
      continue;
    }
    if (message.kind !== 'line') continue;
    const line = errorOr(connection, message);
    if (line.head !== REPLY.eof) throw connection.breakWith(protocolError(`expected data or EOF, got ${line.head}`));
    if (received !== total) throw connection.breakWith(protocolError(`EOF after ${received} of ${total} bytes`));
    return decodeReply(replySchemas.eof, line);
  }
}

/**
 * Reads the first `bytes` bytes of a file (1024 by default).
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PATH_NOT_FILE`, connection errors.
 */
export async function previewFile(
  connection: Connection,
  remotePath: string,
  bytes: number = DEFAULT_PREVIEW_BYTES,
  signal?: AbortSignal,
): Promise<Preview> {
  const line = expectHead(await connection.request(REQUEST.preview, { path: remotePath, bytes }, signal), REPLY.sending);
  const sending = decodeReply(replySchemas.sending, line);
  const parts: Buffer[] = [];
  let received = 0;
  for (;;) {
    const message = await connection.nextMessage({ signal });
    if (message.kind === 'data') {
      const payload = await unpacked(connection, message.flags, message.payload);
      parts.push(payload);
      received += payload.length;
      if (received > sending.length) throw connection.breakWith(protocolError('the preview is longer than announced'));
      connection.sendLine(REPLY.ack, { offset: sending.offset + received });
      continue;
    }
    if (message.kind !== 'line') continue;
    const end = errorOr(connection, message);
    if (end.head !== REPLY.eof) throw connection.breakWith(protocolError(`expected data or EOF, got ${end.head}`));
    return { entry: sending.entry, data: Buffer.concat(parts, received) };
  }
}

/**
 * STAT: the entry at a path.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND` and connection errors.
 */
export async function statEntry(connection: Connection, remotePath: string, signal?: AbortSignal): Promise<Entry> {
  const line = expectHead(await connection.request(REQUEST.stat, { path: remotePath }, signal), REPLY.ok);
  return decodeReply(replySchemas.entry, line).entry;
}

/**
 * The file bytes of a data frame from the server: decompressed when flagged.
 * @throws FosError (and breaks the connection) for flags or bytes that do not decode.
 */
async function unpacked(connection: Connection, flags: number, payload: Buffer): Promise<Buffer> {
  if (flags === 0) return payload;
  try {
    return await unpackFrame(flags, payload, connection.negotiated, MAX_CHUNK_BYTES);
  } catch (err) {
    throw connection.breakWith(err instanceof FosError ? err : protocolError(String(err)));
  }
}

/** The line itself, or its error thrown: an ERR in mid-stream also ends the connection. */
function errorOr(connection: Connection, line: LineMessage): LineMessage {
  if (line.head !== REPLY.err) return line;
  throw connection.breakWith(errorFromReply(line));
}

/** Bytes of a kept temporary file that can be resumed (0 when none or unusable). */
async function keptBytes(temp: string, size: number): Promise<number> {
  try {
    const info = await stat(temp);
    if (info.isFile() && info.size > 0 && info.size <= size) return info.size;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `cannot read ${temp}`, { cause: err });
    return 0;
  }
  await unlinkQuietly(temp);
  return 0;
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    // Already gone is the outcome we want.
    if (errnoCode(err) !== 'ENOENT') throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `cannot remove ${path}`, { cause: err });
  }
}

async function createEmpty(path: string): Promise<void> {
  try {
    await (await open(path, 'w')).close();
  } catch (err) {
    throw storageError(err, `cannot create ${path}`);
  }
}

function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}
