/**
 * The read side of a download: a file handle opened on one version, read in pieces with
 * one read always running ahead, so the disk and the socket work at the same time.
 */
import type { FileHandle } from 'node:fs/promises';
import { storageError } from '../fs/fs.js';
import type { Entry } from '../protocol/types.js';
import type { DownloadSource } from './types.js';

/** Wraps an open handle on `entry`'s file as a source of `length` bytes from `offset`. */
export function createDownloadSource(handle: FileHandle, entry: Entry, offset: number, length: number): DownloadSource {
  let position = offset;
  const end = offset + length;
  let ahead: { readonly size: number; readonly promise: Promise<Buffer> } | null = null;
  let closed: Promise<void> | undefined;

  const readAt = async (at: number, size: number, into?: Buffer): Promise<Buffer> => {
    const buffer = into !== undefined && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, at + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  };

  const start = (size: number): void => {
    const promise = readAt(position, size);
    // Errors surface when the piece is awaited; this keeps an unread one from being unhandled.
    promise.catch(() => undefined);
    ahead = { size, promise };
  };

  return {
    entry,
    offset,
    length,
    async read(maxBytes) {
      if (position >= end) return null;
      const size = Math.min(maxBytes, end - position);
      if (ahead === null || ahead.size !== size) start(size);
      const current = ahead;
      if (current === null) return null;
      let piece: Buffer;
      try {
        piece = await current.promise;
      } catch (err) {
        throw storageError(err, `cannot read ${JSON.stringify(entry.path)}`);
      }
      if (piece.length === 0) {
        throw storageError(new Error('the file is shorter than its entry'), `cannot read ${JSON.stringify(entry.path)}`);
      }
      position += piece.length;
      ahead = null;
      if (position < end) start(Math.min(maxBytes, end - position));
      return piece;
    },
    async readAt(at, size, into) {
      let piece: Buffer;
      try {
        piece = await readAt(at, size, into);
      } catch (err) {
        throw storageError(err, `cannot read ${JSON.stringify(entry.path)}`);
      }
      if (piece.length !== size) {
        throw storageError(new Error('the file is shorter than its entry'), `cannot read ${JSON.stringify(entry.path)}`);
      }
      return piece;
    },
    close() {
      closed ??= (async () => {
        const pending: { readonly promise: Promise<Buffer> } | null = ahead;
        ahead = null;
        if (pending !== null) await pending.promise.catch(() => undefined);
        await handle.close();
      })();
      return closed;
    },
  };
}
