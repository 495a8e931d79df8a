/**
 * One FOS/2 connection's byte stream as messages: a FrameDecoder fed from the socket, a
 * bounded queue of decoded messages (the socket is paused while it is full, so a fast
 * sender is held back by TCP instead of filling memory), and writers that respect the
 * socket's backpressure.
 */
import type { Socket } from 'node:net';
import { FosError } from '../errors.js';
import { encodeFrameHeader, encodeLine } from '../protocol/encode.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { DecoderLimits, Message } from '../protocol/frame-decoder.js';

interface Waiter {
  readonly resolve: (message: Message) => void;
  readonly reject: (err: FosError) => void;
  readonly timer: NodeJS.Timeout | undefined;
}

/** Options of a Wire. */
export interface WireOptions {
  readonly limits: DecoderLimits;
  /** Bytes of decoded messages held before the socket is paused. */
  readonly maxQueuedBytes: number;
}

/** Messages in, lines and frames out, over one socket. */
export class Wire {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #maxQueuedBytes: number;
  readonly #queue: Message[] = [];
  #queuedBytes = 0;
  #waiter: Waiter | null = null;
  #failure: FosError | null = null;
  #isPaused = false;
  readonly #closed: Promise<void>;

  constructor(socket: Socket, options: WireOptions, firstBytes: Buffer) {
    this.#socket = socket;
    this.#decoder = new FrameDecoder(options.limits);
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#push(chunk));
    socket.once('end', () => this.#fail(new FosError('FOS_ERR_NET_CLOSED', 'the peer closed the connection')));
    socket.once('close', () => this.#fail(new FosError('FOS_ERR_NET_CLOSED', 'the connection closed')));
    socket.on('error', (err) => this.#fail(new FosError('FOS_ERR_NET_CLOSED', `connection error: ${err.message}`, { cause: err })));
    if (firstBytes.length > 0) this.#push(firstBytes);
    // The connection dispatcher paused the socket while it looked at the first bytes.
    socket.resume();
  }

  /** Resolves when the socket has closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** True once the socket cannot carry more writes. */
  get isClosed(): boolean {
    return this.#socket.destroyed || !this.#socket.writable;
  }

  /**
   * The next message. Framing violations, the peer closing and the timeout reject.
   * @throws FosError `FOS_ERR_PROTO_TIMEOUT` after `timeoutMs` (when given) without a
   * message, `FOS_ERR_NET_CLOSED`, `FOS_ERR_PROTO_LINE_TOO_LONG`, `FOS_ERR_PROTO_FRAME_TOO_LARGE`.
   */
  next(timeoutMs?: number): Promise<Message> {
    const queued = this.#queue.shift();
    if (queued !== undefined) {
      this.#queuedBytes -= sizeOf(queued);
      this.#resumeIfRoom();
      return Promise.resolve(queued);
    }
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#waiter !== null) return Promise.reject(new FosError('FOS_ERR_PROTO_INTERNAL', 'two readers on one connection'));
    return new Promise<Message>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#waiter = null;
              reject(new FosError('FOS_ERR_PROTO_TIMEOUT', `nothing received for ${Math.round(timeoutMs / 1000)} s`));
            }, timeoutMs);
      this.#waiter = { resolve, reject, timer };
      this.#resumeIfRoom();
    });
  }

  /** The next message if one is already decoded, without waiting. */
  poll(): Message | undefined {
    const queued = this.#queue.shift();
    if (queued !== undefined) {
      this.#queuedBytes -= sizeOf(queued);
      this.#resumeIfRoom();
    }
    return queued;
  }

  /** Writes a control line; false when the socket's buffer is full (wait for `drained`). */
  sendLine(head: string, body?: Readonly<Record<string, unknown>>): boolean {
    if (this.isClosed) return false;
    return this.#socket.write(encodeLine(head, body));
  }

  /** Writes one data frame (header and payload together); false when the buffer is full. */
  sendFrame(flags: number, payload: Uint8Array): boolean {
    if (this.isClosed) return false;
    this.#socket.cork();
    this.#socket.write(encodeFrameHeader(flags, payload.length));
    const hasRoom = this.#socket.write(payload);
    this.#socket.uncork();
    return hasRoom;
  }

  /**
   * Resolves when the socket's write buffer has drained.
   * @throws FosError `FOS_ERR_NET_CLOSED` if the socket closes first, `FOS_ERR_PROTO_TIMEOUT`
   * when the peer reads nothing for `timeoutMs`.
   */
  drained(timeoutMs: number): Promise<void> {
    if (this.isClosed) return Promise.reject(new FosError('FOS_ERR_NET_CLOSED', 'the connection closed'));
    if (!this.#socket.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (err?: FosError): void => {
        clearTimeout(timer);
        this.#socket.off('drain', onDrain);
        this.#socket.off('close', onClose);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(new FosError('FOS_ERR_NET_CLOSED', 'the connection closed'));
      const timer = setTimeout(() => done(new FosError('FOS_ERR_PROTO_TIMEOUT', 'the peer stopped reading')), timeoutMs);
      this.#socket.on('drain', onDrain);
      this.#socket.on('close', onClose);
    });
  }

  /** Turns on TCP keep-alive probes: a silent peer that is gone gets noticed. */
  keepAlive(delayMs: number): void {
    this.#socket.setKeepAlive(true, delayMs);
  }

  /** Ends the connection after what was written, and destroys it if the peer lingers. */
  close(lingerMs = 2000): Promise<void> {
    if (!this.#socket.destroyed) {
      this.#socket.end();
      const timer = setTimeout(() => this.#socket.destroy(), lingerMs);
      timer.unref();
      void this.#closed.then(() => clearTimeout(timer));
    }
    return this.#closed;
  }

  /** Drops the connection at once. */
  destroy(): Promise<void> {
    this.#socket.destroy();
    return this.#closed;
  }

  #push(chunk: Buffer): void {
    if (this.#failure !== null) return;
    let messages: Message[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(err instanceof FosError ? err : new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'undecodable input', { cause: err }));
      return;
    }
    for (const message of messages) {
      const waiter = this.#waiter;
      if (waiter !== null) {
        this.#waiter = null;
        clearTimeout(waiter.timer);
        waiter.resolve(message);
      } else {
        this.#queue.push(message);
        this.#queuedBytes += sizeOf(message);
      }
    }
    if (this.#queuedBytes + this.#decoder.bufferedBytes > this.#maxQueuedBytes && !this.#isPaused) {
      this.#isPaused = true;
      this.#socket.pause();
    }
  }

  #resumeIfRoom(): void {
    if (this.#isPaused && this.#queuedBytes <= this.#maxQueuedBytes / 2) {
      this.#isPaused = false;
      this.#socket.resume();
    }
  }

  #fail(err: FosError): void {
    if (this.#failure !== null) return;
    this.#failure = err;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
  }
}

function sizeOf(message: Message): number {
  return message.kind === 'data' ? message.payload.length : 64;
}
