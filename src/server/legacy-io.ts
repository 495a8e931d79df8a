/**
 * The seed's unframed byte stream, both ways (legacy-protocol.md). Every message is one
 * `send()` of text, and the seed's programs rely on one `recv()` returning exactly one
 * message. The inbox turns the bytes that arrive back into the client's messages; the
 * outbox writes the server's messages so that each one reaches the client's `recv()` alone.
 *
 * The seed's client is stop-and-wait: after each message it waits for the server's
 * answer, so two of its messages never share a TCP segment and a message can only be
 * split, never merged with the next. A read shorter than {@link LEGACY_SEGMENT_BYTES} is
 * therefore a whole message; a longer one may be the first segment of a message split
 * in transit, so the inbox also takes what follows until the client falls silent.
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FosError } from '../errors.js';
import { LEGACY_PAUSE_MS } from '../protocol/legacy.js';

/**
 * A read shorter than this is a whole message: TCP splits a message into segments of at
 * least 536 bytes (the IPv4 default MSS), so a shorter first read cannot be a part of one.
 */
export const LEGACY_SEGMENT_BYTES = 512;

/** Silence after which a message that came in segments is taken as complete. */
export const LEGACY_QUIET_MS = 50;

/**
 * Longest message outside an upload's chunks. The seed's longest is `FILENAME:` and a
 * name, and a remote path is at most 4096 bytes; a peer sending more is not that client.
 */
export const LEGACY_MAX_MESSAGE_BYTES = 64 * 1024;

/** Unread bytes held before the socket is paused (backpressure on a peer that floods). */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** How long a graceful end waits for the socket to flush before it is destroyed. */
const END_LINGER_MS = 2000;

type Wake = (reason: 'data' | 'closed') => void;

/** Bytes from a legacy client, handed out as that client's messages. */
export class LegacyInbox {
  readonly #socket: Socket;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #isClosed = false;
  #wake: Wake | null = null;

  /** Starts reading `socket` (paused by the dispatcher), after the bytes it already read. */
  constructor(socket: Socket, firstBytes: Buffer) {
    this.#socket = socket;
    if (firstBytes.length > 0) this.#push(firstBytes);
    socket.on('data', (chunk: Buffer) => this.#push(chunk));
    const onClosed = (): void => {
      this.#isClosed = true;
      this.#wake?.('closed');
    };
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    if (socket.destroyed) this.#isClosed = true;
    socket.resume();
  }

  /**
   * The client's next message: one short read at once, else every byte until the client
   * falls silent for {@link LEGACY_QUIET_MS}. `isComplete` may end the wait earlier.
   * @throws FosError `FOS_ERR_PROTO_TIMEOUT` when nothing arrives within `timeoutMs`,
   * `FOS_ERR_NET_CLOSED` when the peer closes first, `FOS_ERR_PROTO_LINE_TOO_LONG` for a
   * message over {@link LEGACY_MAX_MESSAGE_BYTES}.
   */
  async message(timeoutMs: number, isComplete: (bytes: Buffer) => boolean = () => false): Promise<Buffer> {
    await this.#first(timeoutMs);
    if (this.#buffered >= LEGACY_SEGMENT_BYTES && !isComplete(this.#peek())) {
      while (this.#buffered <= LEGACY_MAX_MESSAGE_BYTES && (await this.#more(LEGACY_QUIET_MS))) {
        if (isComplete(this.#peek())) break;
      }
    }
    if (this.#buffered > LEGACY_MAX_MESSAGE_BYTES) {
      throw new FosError('FOS_ERR_PROTO_LINE_TOO_LONG', `a legacy message over ${LEGACY_MAX_MESSAGE_BYTES} bytes`);
    }
    return this.#take(this.#buffered);
  }

  /**
   * The next upload chunk: `chunkBytes` bytes as soon as that many are here, a short read
   * at once, otherwise what arrives until the client falls silent.
   * @throws FosError `FOS_ERR_PROTO_TIMEOUT`, `FOS_ERR_NET_CLOSED`, as {@link message}.
   */
  async chunk(timeoutMs: number, chunkBytes: number): Promise<Buffer> {
    await this.#first(timeoutMs);
    while (this.#buffered < chunkBytes && this.#buffered >= LEGACY_SEGMENT_BYTES) {
      if (!(await this.#more(LEGACY_QUIET_MS))) break;
    }
    return this.#take(Math.min(this.#buffered, chunkBytes));
  }

  /** Puts bytes back in front of what is unread (the client's next message, told apart). */
  unshift(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#chunks.unshift(bytes);
    this.#buffered += bytes.length;
  }

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered > MAX_BUFFERED_BYTES) this.#socket.pause();
    this.#wake?.('data');
  }

  #peek(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #take(bytes: number): Buffer {
    const all = this.#peek();
    const taken = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    if (this.#buffered <= MAX_BUFFERED_BYTES / 2 && this.#socket.isPaused() && !this.#isClosed) this.#socket.resume();
    return taken;
  }

  /** Waits for the first byte of a message. */
  async #first(timeoutMs: number): Promise<void> {
    if (this.#buffered > 0) return;
    const outcome = await this.#wait(timeoutMs);
    if (outcome === 'data') return;
    if (outcome === 'closed') throw new FosError('FOS_ERR_NET_CLOSED', 'the connection closed');
    throw new FosError('FOS_ERR_PROTO_TIMEOUT', `no message within ${timeoutMs} ms`);
  }

  /** True when more bytes arrived within `ms`. */
  async #more(ms: number): Promise<boolean> {
    return (await this.#wait(ms)) === 'data';
  }

  #wait(ms: number): Promise<'data' | 'closed' | 'timeout'> {
    if (this.#isClosed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve('timeout');
      }, ms);
      this.#wake = (reason) => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(reason);
      };
    });
  }
}

/** The server's side of a legacy connection: each message written on its own. */
export class LegacyOutbox {
  readonly #socket: Socket;
  #lastWrite: Promise<void> = Promise.resolve();
  #lastWrittenAt = 0;

  constructor(socket: Socket) {
    this.#socket = socket;
    // Nagle would hold a short message back and merge it with the next one.
    socket.setNoDelay(true);
  }

  /**
   * Writes one message and waits until the socket has taken it.
   * @throws FosError `FOS_ERR_NET_CLOSED` when the connection is gone.
   */
  async send(data: string | Uint8Array): Promise<void> {
    await this.stream(data);
    await this.flush();
  }

  /**
   * Writes file bytes, waiting only while the socket's buffer is full.
   * @throws FosError `FOS_ERR_NET_CLOSED` when the connection is gone.
   */
  async stream(data: string | Uint8Array): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) throw closedError();
    let isFull = false;
    this.#lastWrite = new Promise<void>((resolve, reject) => {
      isFull = !socket.write(data, (err) => {
        this.#lastWrittenAt = performance.now();
        if (err === undefined || err === null) resolve();
        else reject(closedError(err));
      });
    });
    // Awaited by flush(); this keeps a failed write that nobody flushes from being unhandled.
    this.#lastWrite.catch(() => undefined);
    if (isFull) await drained(socket);
  }

  /**
   * Waits until everything written has been handed to the kernel.
   * @throws FosError `FOS_ERR_NET_CLOSED` when the connection broke meanwhile.
   */
  async flush(): Promise<void> {
    await this.#lastWrite;
  }

  /**
   * Waits until {@link LEGACY_PAUSE_MS} have passed since the last write was handed over,
   * so that the next message reaches the seed's client in a `recv()` of its own.
   * @throws FosError `FOS_ERR_NET_CLOSED` when the connection broke meanwhile.
   */
  async pause(): Promise<void> {
    await this.flush();
    const left = this.#lastWrittenAt + LEGACY_PAUSE_MS - performance.now();
    if (left > 0) await sleep(Math.ceil(left));
  }

  /** Ends the connection after what was written; destroys it if the flush takes too long. */
  async end(): Promise<void> {
    const socket = this.#socket;
    if (!socket.destroyed) {
      let timer: NodeJS.Timeout | undefined;
      const finished = new Promise<void>((resolve) => {
        socket.once('finish', resolve);
        socket.once('close', resolve);
        timer = setTimeout(resolve, END_LINGER_MS);
      });
      socket.end();
      await finished;
      clearTimeout(timer);
    }
    socket.destroy();
  }
}

function closedError(cause?: Error): FosError {
  return new FosError('FOS_ERR_NET_CLOSED', 'the connection closed', cause === undefined ? {} : { cause });
}

function drained(socket: Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      socket.off('drain', onDrain);
      reject(closedError());
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}
