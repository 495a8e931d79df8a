/**
 * The receiving side of a download: payloads are queued as they arrive and written in
 * batches, one write at a time, and each write is acknowledged with the offset the file
 * now holds, so the server's window moves as fast as the disk takes the bytes and the
 * receive loop never waits for the disk.
 */
import { asFosError } from '../errors.js';
import type { FosError } from '../errors.js';
import type { HashingWriter } from '../fs/hash.js';
import { REPLY } from '../protocol/constants.js';
import type { Connection } from './connection.js';

/** Queues payloads for a HashingWriter and acknowledges what it wrote. */
export class AckingWriter {
  readonly #connection: Connection;
  readonly #file: HashingWriter;
  readonly #onWritten: (bytes: number) => void;
  #pending: Buffer[] = [];
  #flushing: Promise<void> | null = null;
  #error: FosError | null = null;

  constructor(connection: Connection, file: HashingWriter, onWritten: (bytes: number) => void) {
    this.#connection = connection;
    this.#file = file;
    this.#onWritten = onWritten;
  }

  /**
   * Queues bytes to append. A failed earlier write breaks the connection, so the receive
   * loop learns of it from its next read.
   * @throws the write error of an earlier batch.
   */
  push(payload: Buffer): void {
    if (this.#error !== null) throw this.#error;
    this.#pending.push(payload);
    this.#flushing ??= this.#flush();
  }

  /** Resolves when every queued byte is written. @throws the first write error. */
  async settled(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
    if (this.#error !== null) throw this.#error;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const parts = this.#pending;
        this.#pending = [];
        await this.#file.write(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
        const offset = this.#file.bytesWritten;
        if (this.#connection.isUsable) this.#connection.sendLine(REPLY.ack, { offset });
        this.#onWritten(offset);
      }
    } catch (err) {
      this.#error = asFosError(err, 'FOS_ERR_SYNC_LOCAL_IO');
      this.#pending = [];
      this.#connection.breakWith(this.#error);
    } finally {
      this.#flushing = null;
    }
  }
}
