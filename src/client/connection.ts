/**
 * One FOS/2 connection: connect, greeting, HELLO, AUTH, then messages in order through a
 * FrameDecoder and a queue. `SERVER SHUTDOWN` is noticed at any point; a silent server
 * times out; an aborted wait closes the connection, because its stream is out of step.
 */
import type { Duplex } from 'node:stream';
import { FosError } from '../errors.js';
import { GREETING, MAX_FRAME_BYTES, MAX_REPLY_LINE_BYTES, REPLY, REQUEST } from '../protocol/constants.js';
import { encodeLine } from '../protocol/encode.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { LineMessage, Message } from '../protocol/frame-decoder.js';
import { errorFromReply } from '../protocol/messages.js';
import { abortError, systemClock } from './clock.js';
import { GREETING_HEAD, handshake } from './handshake.js';
import { Inbox } from './inbox.js';
import { protocolError } from './replies.js';
import { connectTcp, formatAddress } from './connect.js';
import type { Clock, ConnectionOptions, Negotiated, ServerAddress } from './types.js';

/** Default longest silence from the server while the client waits for it. */
export const DEFAULT_TIMEOUT_MS = 30_000;

const GREETING_BYTES = Buffer.from(GREETING, 'utf8');

/** Options of `nextMessage`. */
export interface WaitOptions {
  readonly signal?: AbortSignal | undefined;
  /** Fail with FOS_ERR_NET_TIMEOUT after the connection's timeout of silence (default true). */
  readonly idleTimeout?: boolean;
}

/** An authenticated FOS/2 connection. Use `Connection.open`; `close()` is idempotent. */
export class Connection {
  readonly address: ServerAddress;
  readonly #socket: Duplex;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #decoder = new FrameDecoder({ maxLineBytes: MAX_REPLY_LINE_BYTES, maxFrameBytes: MAX_FRAME_BYTES });
  readonly #inbox: Inbox;
  #shutdown: FosError | null = null;
  #greeting: Buffer | null = Buffer.alloc(0);
  #closed: Promise<void> | null = null;
  readonly #shutdownListeners = new Set<() => void>();
  #negotiated: Negotiated | null = null;
  #user = '';

  private constructor(socket: Duplex, options: ConnectionOptions) {
    this.address = options.address;
    this.#socket = socket;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#inbox = new Inbox(this.#clock);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err: Error) =>
      this.#fail(new FosError('FOS_ERR_NET_CLOSED', `connection to the server failed: ${err.message}`, { cause: err })),
    );
    socket.on('close', () => this.#fail(this.#shutdown ?? new FosError('FOS_ERR_NET_CLOSED', 'the server closed the connection')));
  }

  /**
   * Connects, reads the greeting, negotiates with HELLO and logs in with AUTH.
   * @throws FosError `FOS_ERR_NET_CONNECT` (unreachable), `FOS_ERR_AUTH_FAILED`,
   * `FOS_ERR_AUTH_RATE_LIMITED`, `FOS_ERR_NET_TIMEOUT`, `FOS_ERR_NET_CLOSED`,
   * `FOS_ERR_PROTO_UNSUPPORTED` (not a FOS/2 server), or the abort error.
   */
  static async open(options: ConnectionOptions, signal?: AbortSignal): Promise<Connection> {
    const socket = await (options.connect ?? connectTcp)(options.address, signal);
    const connection = new Connection(socket, options);
    try {
      const settled = await handshake(connection, options, signal);
      connection.#negotiated = settled.negotiated;
      connection.#user = settled.user;
    } catch (err) {
      connection.destroy();
      throw err;
    }
    return connection;
  }

  /** Chunk size, window and compression settled by HELLO. */
  get negotiated(): Negotiated {
    if (this.#negotiated === null) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'connection is not open yet');
    return this.#negotiated;
  }

  /** The user this connection is logged in as. */
  get user(): string {
    return this.#user;
  }

  /** False once the connection failed, closed, or the server announced its shutdown. */
  get isUsable(): boolean {
    return this.#inbox.failure === null && this.#shutdown === null && this.#closed === null;
  }

  /** Calls `listener` once when the server sends `SERVER SHUTDOWN`. Returns the remover. */
  onShutdown(listener: () => void): () => void {
    this.#shutdownListeners.add(listener);
    return () => this.#shutdownListeners.delete(listener);
  }

  /**
   * Sends a request and returns its first reply line.
   * @throws FosError from an `ERR` reply (the connection stays usable), or a connection
   * failure (FOS_ERR_NET_*, FOS_ERR_PROTO_SHUTTING_DOWN) after which it is not.
   */
  async request(head: string, body: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<LineMessage> {
    if (this.#shutdown !== null) throw this.#shutdown;
    this.sendLine(head, body);
    return this.nextLine({ signal });
  }

  /** Sends one control line. @throws the connection's failure when it is broken. */
  sendLine(head: string, body?: Readonly<Record<string, unknown>>): boolean {
    return this.write(encodeLine(head, body));
  }

  /** Bytes written but still in the socket's own buffer. */
  get writableBytes(): number {
    return this.#socket.writableLength;
  }

  /** Writes raw bytes (a frame header or payload). Returns false when the socket buffer is full. */
  write(bytes: Uint8Array): boolean {
    if (this.#inbox.failure !== null) throw this.#inbox.failure;
    return this.#socket.write(bytes);
  }

  /** Writes several buffers as one batch (a frame header and its payload). */
  writeAll(parts: readonly Uint8Array[]): boolean {
    if (this.#inbox.failure !== null) throw this.#inbox.failure;
    this.#socket.cork();
    let ok = true;
    for (const part of parts) ok = this.#socket.write(part);
    this.#socket.uncork();
    return ok;
  }

  /**
   * Resolves when the socket's write buffer has drained.
   * @throws the connection's failure, FOS_ERR_NET_TIMEOUT, or the abort error.
   */
  drain(signal?: AbortSignal): Promise<void> {
    if (this.#inbox.failure !== null) return Promise.reject(this.#inbox.failure);
    if (!this.#socket.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const finish = (err: FosError | null): void => {
        cancelTimer();
        this.#socket.off('drain', onDrain);
        this.#socket.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (err === null) resolve();
        else reject(err);
      };
      const onDrain = (): void => finish(null);
      const onClose = (): void => finish(this.#inbox.failure ?? new FosError('FOS_ERR_NET_CLOSED', 'the server closed the connection'));
      const onAbort = (): void => {
        const err = abortError(signal as AbortSignal);
        finish(err);
        this.#fail(err);
      };
      const cancelTimer = this.#clock.setTimer(() => {
        const err = this.#timeoutError();
        finish(err);
        this.#fail(err);
      }, this.#timeoutMs);
      this.#socket.once('drain', onDrain);
      this.#socket.once('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The next queued message without waiting, or undefined. Bad messages throw. */
  poll(): Message | undefined {
    const message = this.#inbox.shift();
    if (message?.kind === 'bad') throw this.#fail(message.error);
    return message;
  }

  /**
   * The next message from the server.
   * @throws the connection's failure, FOS_ERR_NET_TIMEOUT after `timeoutMs` of silence,
   * or the abort error (the connection is closed then: its stream is out of step).
   */
  async nextMessage(options: WaitOptions = {}): Promise<Message> {
    const message = await this.#inbox.next({
      signal: options.signal,
      idleMs: options.idleTimeout === false ? undefined : this.#timeoutMs,
      onGiveUp: (reason) => {
        const err = reason === 'idle' ? this.#timeoutError() : reason;
        this.#fail(err);
        return err;
      },
    });
    if (message.kind === 'bad') throw this.#fail(message.error);
    return message;
  }

  /**
   * The next message, which must be a control line; `ERR` lines throw their error.
   * @throws FosError from ERR, FOS_ERR_PROTO_BAD_REQUEST for an unexpected data frame,
   * or anything `nextMessage` throws.
   */
  async nextLine(options: WaitOptions = {}): Promise<LineMessage> {
    const message = await this.nextMessage(options);
    if (message.kind !== 'line') throw this.#fail(protocolError('a data frame arrived where a reply was expected'));
    if (message.head === REPLY.err) throw errorFromReply(message);
    return message;
  }

  /**
   * Marks the connection broken and returns the error it failed with. Callers use it when
   * the server says something that puts the stream out of step.
   */
  breakWith(err: FosError): FosError {
    return this.#fail(err);
  }

  /** Sends QUIT and waits for the answer, then closes. Never throws. */
  async quit(signal?: AbortSignal): Promise<void> {
    if (this.isUsable) {
      try {
        await this.request(REQUEST.quit, {}, signal);
      } catch {
        // A failed QUIT leaves nothing to clean up on our side; close() ends the socket.
      }
    }
    await this.close();
  }

  /** Ends the connection. Idempotent: every call returns the same promise. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const socket = this.#socket;
      if (socket.destroyed) {
        resolve();
        return;
      }
      const cancel = this.#clock.setTimer(() => socket.destroy(), 1000);
      socket.once('close', () => {
        cancel();
        resolve();
      });
      socket.end();
    });
    return this.#closed;
  }

  /** Tears the socket down at once (after an error or an abort). */
  destroy(): void {
    this.#fail(new FosError('FOS_ERR_NET_CLOSED', 'connection closed'));
  }

  #onData(chunk: Buffer): void {
    this.#inbox.touch();
    if (this.#greeting !== null) {
      chunk = this.#takeGreeting(chunk);
      if (chunk.length === 0) return;
    }
    let messages: Message[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(err instanceof FosError ? err : protocolError(String(err)));
      return;
    }
    for (const message of messages) {
      if (message.kind === 'line' && message.head === REPLY.shutdown) this.#onShutdown(message);
      else this.#inbox.push(message);
    }
  }

  /** Consumes the greeting's bytes; returns what follows it. A mismatch goes to the decoder. */
  #takeGreeting(chunk: Buffer): Buffer {
    const seen = Buffer.concat([this.#greeting as Buffer, chunk]);
    const compared = Math.min(seen.length, GREETING_BYTES.length);
    if (!seen.subarray(0, compared).equals(GREETING_BYTES.subarray(0, compared))) {
      // Not the greeting (an ERR from a full server, or not fos at all): decode it as lines.
      this.#greeting = null;
      return seen;
    }
    if (seen.length < GREETING_BYTES.length) {
      this.#greeting = seen;
      return Buffer.alloc(0);
    }
    this.#greeting = null;
    this.#inbox.push({ kind: 'line', head: GREETING_HEAD, body: {} });
    return seen.subarray(GREETING_BYTES.length);
  }

  #onShutdown(line: LineMessage): void {
    const graceMs = line.body['graceMs'];
    this.#shutdown ??= new FosError('FOS_ERR_PROTO_SHUTTING_DOWN', 'the server is shutting down', {
      details: typeof graceMs === 'number' ? { graceMs } : {},
    });
    for (const listener of this.#shutdownListeners) listener();
    this.#shutdownListeners.clear();
  }

  #fail(err: FosError): FosError {
    if (this.#inbox.failure === null) this.#socket.destroy();
    return this.#inbox.fail(err);
  }

  #timeoutError(): FosError {
    return new FosError('FOS_ERR_NET_TIMEOUT', `no answer from ${formatAddress(this.address)} for ${Math.round(this.#timeoutMs / 1000)} s`);
  }
}
