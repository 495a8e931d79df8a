/**
 * An upload whose size and content are known only when it ends. The seed's UPLOAD sends
 * chunks until `EOF` (legacy-protocol.md), so legacy mode cannot declare a size and a
 * SHA-256 up front as FOS/2 does. The bytes stream into a partial file of their own in
 * `tmp/<user>/` (a random key, so no FOS/2 resume ever picks it up), hashed while they are
 * written; `finish` fsyncs and commits them through the same step as every upload, so
 * nothing appears under the name before then and a cut-short upload never does.
 */
import { unlink, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FosError } from '../errors.js';
import { storageError } from '../fs/fs.js';
import { HashingWriter } from '../fs/hash.js';
import type { Entry } from '../protocol/types.js';
import type { Release } from './part-files.js';
import { checkUpload, commitUpload } from './storage-changes.js';
import { diskPath } from './storage-context.js';
import type { StorageContext } from './storage-context.js';
import type { Quota, UploadMeta } from './types.js';

/** An upload in progress whose end the uploader signals. */
export interface StreamedUpload {
  /** Canonical remote path. */
  readonly path: string;
  /** Bytes written so far. */
  readonly received: number;
  /**
   * Appends bytes.
   * @throws FosError `FOS_ERR_STORE_TOO_LARGE` past the server's upload limit,
   * `FOS_ERR_STORE_QUOTA` past the user's byte quota, `FOS_ERR_STORE_NO_SPACE`,
   * `FOS_ERR_STORE_WRITE`; the partial file is then discarded.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Commits what was written under the path (the old version goes to the trash).
   * @throws FosError `FOS_ERR_PATH_EXISTS`, `FOS_ERR_STORE_QUOTA`, storage errors; the
   * partial file is then discarded.
   */
  finish(): Promise<Entry>;
  /** Discards the partial file. Idempotent. */
  abort(): Promise<void>;
}

/** What a streamed upload is made of. */
export interface StreamedUploadParts {
  readonly ctx: StorageContext;
  readonly user: string;
  /** Canonical, non-empty remote path. */
  readonly path: string;
  readonly quota: Quota;
  /** The server's upload limit in bytes. */
  readonly maxBytes: number;
  /** The partial file, `tmp/<user>/<random key>.part`. */
  readonly partPath: string;
  /** Releases the partial file's key (held so the purge leaves the file alone). */
  readonly release: Release;
}

/**
 * Checks that a file may be written at the path, then opens its partial file.
 * @throws FosError `FOS_ERR_PATH_BAD` (a link in the way), `FOS_ERR_PATH_EXISTS` (a folder
 * at the path or a file among its parents), storage errors.
 */
export async function beginStreamedUpload(parts: StreamedUploadParts): Promise<StreamedUpload> {
  const { ctx, user, path, quota, maxBytes, partPath, release } = parts;
  let writer: HashingWriter;
  try {
    // Size 0 here: the quota is checked again with the real size when the file commits.
    await checkUpload(ctx, user, path, { path, size: 0, sha256: '', mtimeMs: 0 }, quota);
    await diskPath(ctx, user, path);
    await ctx.fs.mkdirp(dirname(partPath));
    writer = await HashingWriter.open(partPath, { fs: ctx.fs });
  } catch (err) {
    release();
    throw err;
  }
  let isDone = false;
  const discard = async (): Promise<void> => {
    isDone = true;
    await writer.close().catch(() => undefined);
    // Nothing to keep: the file may never have been created, or is already gone.
    await unlink(partPath).catch(() => undefined);
    release();
  };

  return {
    path,
    get received() {
      return writer.bytesWritten;
    },
    async write(chunk) {
      if (isDone) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the upload is already finished');
      const total = writer.bytesWritten + chunk.length;
      if (total > maxBytes) {
        await discard();
        throw new FosError('FOS_ERR_STORE_TOO_LARGE', `${JSON.stringify(path)} is over the server's upload limit of ${maxBytes} bytes`);
      }
      if (quota.quotaBytes !== null && total > quota.quotaBytes) {
        await discard();
        throw new FosError('FOS_ERR_STORE_QUOTA', `${JSON.stringify(path)} is over the quota of ${quota.quotaBytes} bytes`, {
          details: { quotaBytes: quota.quotaBytes },
        });
      }
      try {
        await writer.write(chunk);
      } catch (err) {
        await discard();
        throw err;
      }
    },
    async finish() {
      if (isDone) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the upload is already finished');
      try {
        const sha256 = await writer.finish();
        const meta: UploadMeta = { path, size: writer.bytesWritten, sha256, mtimeMs: ctx.clock.now() };
        const when = meta.mtimeMs / 1000;
        try {
          await utimes(partPath, when, when);
        } catch (err) {
          throw storageError(err, `cannot set the time of ${JSON.stringify(path)}`);
        }
        const entry = await commitUpload(ctx, user, path, meta, quota, partPath);
        isDone = true;
        release();
        return entry;
      } catch (err) {
        await discard();
        throw err;
      }
    },
    async abort() {
      if (isDone) return;
      await discard();
    },
  };
}
