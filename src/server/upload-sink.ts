/**
 * The write side of one upload: bytes stream into a partial file in `tmp/`, hashed as they
 * are written; `finish` verifies size and SHA-256 and hands the file to the commit step.
 */
import { unlink, utimes } from 'node:fs/promises';
import { FosError } from '../errors.js';
import type { PartWriter } from './part-writer.js';
import type { Entry } from '../protocol/types.js';
import type { Release } from './part-files.js';
import type { UploadSink, UploadStart } from './types.js';

/** What a sink is made of. */
export interface UploadSinkParts {
  /** Canonical remote path. */
  readonly path: string;
  readonly meta: UploadStart;
  readonly partPath: string;
  readonly writer: PartWriter;
  /** Releases the partial file's key. */
  readonly release: Release;
  /** Moves the verified partial file, whose content has this SHA-256, into place and commits it. */
  readonly commit: (partPath: string, sha256: string) => Promise<Entry>;
}

type SinkState = 'open' | 'finishing' | 'done';

/** Builds the sink of an upload whose partial file is open in `parts.writer`. */
export function createUploadSink(parts: UploadSinkParts): UploadSink {
  const { path, meta, partPath, writer, release } = parts;
  const offset = writer.bytesWritten;
  let state: SinkState = 'open';
  // A write that failed while others were queued may find the sink discarded already.
  const isDone = (): boolean => state === 'done';

  const discard = async (): Promise<void> => {
    state = 'done';
    await writer.close();
    await unlink(partPath).catch(() => undefined);
    release();
  };

  const sink: UploadSink = {
    path,
    offset,
    get received() {
      return writer.bytesWritten;
    },
    async write(chunk) {
      if (state !== 'open') throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the upload is already finished');
      if (writer.bytesQueued + chunk.length > meta.size) {
        await discard();
        throw new FosError(
          'FOS_ERR_STORE_TOO_LARGE',
          `more bytes than the declared size of ${meta.size} for ${JSON.stringify(path)}; nothing was kept`,
        );
      }
      try {
        await writer.write(chunk);
      } catch (err) {
        // After a failed write the hash no longer matches the file: start over next time.
        if (!isDone()) await discard();
        throw err;
      }
    },
    async finish(sha256AtEof) {
      if (state !== 'open') throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the upload is already finished');
      const expected = meta.sha256 ?? sha256AtEof;
      if (expected === undefined) {
        throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `UPLOAD without sha256 needs EOF {"sha256":…}; the ${writer.bytesQueued} bytes stay for a resume`, {
          details: { offset: writer.bytesQueued },
        });
      }
      if (writer.bytesQueued !== meta.size) {
        throw new FosError(
          'FOS_ERR_PROTO_BAD_REQUEST',
          `EOF after ${writer.bytesQueued} of ${meta.size} bytes; send the rest, then EOF`,
          { details: { offset: writer.bytesQueued } },
        );
      }
      state = 'finishing';
      let sha256: string;
      try {
        sha256 = await writer.finish();
      } catch (err) {
        await discard();
        throw err;
      }
      if (sha256 !== expected || (sha256AtEof !== undefined && sha256AtEof !== expected)) {
        await discard();
        throw new FosError('FOS_ERR_STORE_CHECKSUM', `the bytes of ${JSON.stringify(path)} do not match the declared SHA-256; nothing was kept`);
      }
      try {
        const when = meta.mtimeMs / 1000;
        await utimes(partPath, when, when);
        const entry = await parts.commit(partPath, sha256);
        state = 'done';
        return entry;
      } catch (err) {
        // The verified bytes stay resumable (a CONFLICT may be retried with a new base):
        // a retry of the same upload finds them complete and only commits.
        state = 'done';
        throw err;
      } finally {
        release();
      }
    },
    async suspend() {
      if (state === 'done') return;
      state = 'done';
      await writer.close();
      release();
    },
    async abort() {
      if (state === 'done') return;
      await discard();
    },
  };
  return sink;
}
