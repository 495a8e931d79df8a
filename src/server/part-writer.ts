/**
 * The writer of an upload's partial file: each chunk is hashed when it arrives and written
 * in order behind the chunks before it, so the hash of one chunk and the write of the
 * previous run at the same time (the write on libuv's thread pool) instead of one after
 * the other. Writes go through the Fs seam, so a full disk can be injected in tests.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { FosError } from '../errors.js';
import { storageError } from '../fs/fs.js';
import type { Fs, WritableFile } from '../fs/fs.js';

/** A partial file open for appending, hashed as it grows. */
export class PartWriter {
  readonly path: string;
  readonly #file: WritableFile;
  readonly #hash: Hash;
  #written: number;
  #queued: number;
  #tail: Promise<void> = Promise.resolve();
  #failure: FosError | null = null;
  #digest: string | undefined;
  #closed: Promise<void> | undefined;

  private constructor(path: string, file: WritableFile, hash: Hash, bytes: number) {
    this.path = path;
    this.#file = file;
    this.#hash = hash;
    this.#written = bytes;
    this.#queued = bytes;
  }

  /**
   * Opens `path`: a new file, or with `resume` the existing one, whose bytes are hashed
   * first and then appended to.
   * @throws FosError `FOS_ERR_STORE_NO_SPACE`, `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_STORE_WRITE`.
   */
  static async open(path: string, fs: Fs, resume: boolean): Promise<PartWriter> {
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      if (resume) {
        for await (const chunk of createReadStream(path)) {
          const buffer = chunk as Buffer;
          hash.update(buffer);
          bytes += buffer.length;
        }
      }
      const file = await fs.openForWrite(path, resume ? 'append' : 'exclusive');
      return new PartWriter(path, file, hash, bytes);
    } catch (err) {
      throw storageError(err, `cannot open ${path}`);
    }
  }

  /** Bytes in the file (written, not just queued), a resumed prefix included. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** Bytes written or waiting to be written. */
  get bytesQueued(): number {
    return this.#queued;
  }

  /**
   * Hashes `chunk` now and queues its write; resolves once it is written. The caller must
   * not change `chunk` afterwards.
   * @throws FosError the first write failure (`FOS_ERR_STORE_NO_SPACE`, `FOS_ERR_STORE_WRITE`);
   * after one, every later write fails with it too.
   */
  write(chunk: Uint8Array): Promise<void> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#digest !== undefined || this.#closed !== undefined) {
      return Promise.reject(new FosError('FOS_ERR_STORE_WRITE', `write after the end of ${this.path}`));
    }
    this.#hash.update(chunk);
    this.#queued += chunk.length;
    const done = this.#tail.then(async () => {
      if (this.#failure !== null) throw this.#failure;
      try {
        await this.#file.write(chunk);
      } catch (err) {
        this.#failure = storageError(err, `cannot write ${this.path}`);
        throw this.#failure;
      }
      this.#written += chunk.length;
    });
    // The chain goes on after a failure; each caller sees the failure through its own promise.
    this.#tail = done.catch(() => undefined);
    return done;
  }

  /**
   * Waits for the queued writes, fsyncs, closes and returns the SHA-256 of the whole file.
   * @throws FosError the first write failure, or from fsync.
   */
  async finish(): Promise<string> {
    if (this.#digest !== undefined) return this.#digest;
    await this.#tail;
    if (this.#failure !== null) {
      await this.close();
      throw this.#failure;
    }
    try {
      await this.#file.sync();
    } catch (err) {
      await this.close();
      throw storageError(err, `cannot sync ${this.path}`);
    }
    await this.close();
    this.#digest = this.#hash.digest('hex');
    return this.#digest;
  }

  /** Lets queued writes settle and closes the file, keeping what was written. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#tail.then(() => this.#file.close());
    return this.#closed;
  }
}
