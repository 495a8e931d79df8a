/**
 * A small raw FOS/2 peer for server tests: it speaks the protocol byte by byte (so tests
 * can also break it on purpose), with helpers for the common exchanges. Not a client
 * library: the real one is src/client.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { GREETING, MAX_FRAME_BYTES, MAX_REPLY_LINE_BYTES, REPLY } from '../../src/protocol/constants.js';
import { encodeDataFrame, encodeLine } from '../../src/protocol/encode.js';
import { FrameDecoder, type LineMessage, type Message } from '../../src/protocol/frame-decoder.js';
import type { Entry } from '../../src/protocol/types.js';

const WAIT_MS = 15_000;

/** An `ERR` reply's code and message, or null for any other line. */
export function errCode(line: LineMessage): string | null {
  return line.head === REPLY.err && typeof line.body['code'] === 'string' ? line.body['code'] : null;
}

/** Hex SHA-256. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Options of {@link RawPeer.upload}. */
export interface RawUploadOptions {
  readonly baseRev?: number | null;
  readonly mtimeMs?: number;
  /** Stop (without EOF) once the server acknowledged at least this many bytes. */
  readonly stopAfter?: number;
  readonly chunkBytes?: number;
  readonly windowBytes?: number;
  /** Declare this hash instead of the real one. */
  readonly sha256?: string;
  /** Declare this size instead of the real one. */
  readonly size?: number;
  /**
   * Feature `eof-hash`: no sha256 in UPLOAD, and EOF names this one (the real hash when
   * the value is true; none at all when false).
   */
  readonly eofSha256?: string | boolean;
}

/** What an upload exchange gave. */
export interface RawUploadResult {
  /** READY's offset, or null when the server refused the upload. */
  readonly offset: number | null;
  /** File bytes this attempt put on the wire. */
  readonly sent: number;
  /** The final reply (OK, ERR) or, with `stopAfter`, the last acknowledgement. */
  readonly reply: LineMessage;
}

/** One raw connection. */
export class RawPeer {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder({ maxLineBytes: MAX_REPLY_LINE_BYTES, maxFrameBytes: MAX_FRAME_BYTES });
  readonly #queue: Message[] = [];
  readonly #waiters: ((message: Message | null) => void)[] = [];
  #ended = false;
  /** Text the server sent before the first line (the greeting). */
  greeting = '';
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#ended = true;
      for (const waiter of this.#waiters.splice(0)) waiter(null);
    });
  }

  /** Connects and reads the greeting (the server sends it without a line ending). */
  static async connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    const socket = connect({ port, host, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const peer = new RawPeer(socket);
    let pending = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no greeting')), WAIT_MS);
      const onData = (chunk: Buffer): void => {
        pending = Buffer.concat([pending, chunk]);
        if (pending.length < GREETING.length) return;
        clearTimeout(timer);
        socket.off('data', onData);
        peer.greeting = pending.subarray(0, GREETING.length).toString('utf8');
        peer.#attach(pending.subarray(GREETING.length));
        resolve();
      };
      socket.on('data', onData);
    });
    return peer;
  }

  /** Connects, sends HELLO and AUTH, and checks both answers. */
  static async login(port: number, user: string, password: string, hello: Record<string, unknown> = {}): Promise<RawPeer> {
    const peer = await RawPeer.connect(port);
    const helloReply = await peer.request('HELLO', { version: 2, client: 'test', compress: ['gzip'], ...hello });
    if (helloReply.head !== REPLY.hello) throw new Error(`HELLO refused: ${JSON.stringify(helloReply)}`);
    const auth = await peer.request('AUTH', { user, password });
    if (auth.head !== REPLY.authOk) throw new Error(`AUTH refused: ${JSON.stringify(auth)}`);
    return peer;
  }

  #attach(rest: Buffer): void {
    const push = (chunk: Buffer): void => {
      let messages: Message[];
      try {
        messages = this.#decoder.push(chunk);
      } catch {
        this.socket.destroy();
        return;
      }
      for (const message of messages) {
        const waiter = this.#waiters.shift();
        if (waiter !== undefined) waiter(message);
        else this.#queue.push(message);
      }
    };
    this.socket.on('data', push);
    if (rest.length > 0) push(rest);
  }

  /** True once the server closed the connection. */
  get isEnded(): boolean {
    return this.#ended;
  }

  /** Writes raw bytes. */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends a control line. */
  send(head: string, body?: Record<string, unknown>): void {
    this.socket.write(encodeLine(head, body));
  }

  /** Sends a data frame. */
  sendFrame(payload: Uint8Array, flags = 0): void {
    this.socket.write(encodeDataFrame(flags, payload));
  }

  /** The next message, or null when the connection closed first. */
  async next(timeoutMs = WAIT_MS): Promise<Message | null> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return queued;
    if (this.#ended) return null;
    return new Promise<Message | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (message: Message | null): void => {
        clearTimeout(timer);
        resolve(message);
      };
      this.#waiters.push(waiter);
    });
  }

  /** The next control line, skipping nothing. @throws when a frame or a close comes instead. */
  async line(timeoutMs = WAIT_MS): Promise<LineMessage> {
    const message = await this.next(timeoutMs);
    if (message === null) throw new Error('connection closed');
    if (message.kind !== 'line') throw new Error(`expected a line, got ${message.kind}`);
    return message;
  }

  /** Sends a request and returns its first reply line. */
  async request(head: string, body?: Record<string, unknown>): Promise<LineMessage> {
    this.send(head, body);
    return this.line();
  }

  /** An `OK {entry}` request's entry. @throws on any other reply. */
  async entry(head: string, body: Record<string, unknown>): Promise<Entry> {
    const reply = await this.request(head, body);
    if (reply.head !== REPLY.ok) throw new Error(`${head} failed: ${JSON.stringify(reply.body)}`);
    return reply.body['entry'] as Entry;
  }

  /** LIST: every entry of the ENTRIES lines, and the EOF revision; or the ERR line. */
  async list(body: Record<string, unknown> = {}): Promise<{ entries: Entry[]; rev: number } | LineMessage> {
    this.send('LIST', body);
    const entries: Entry[] = [];
    for (;;) {
      const line = await this.line();
      if (line.head === REPLY.entries) {
        entries.push(...(line.body['entries'] as Entry[]));
        continue;
      }
      if (line.head === REPLY.eof) return { entries, rev: line.body['rev'] as number };
      return line;
    }
  }

  /**
   * Uploads `data` with a sliding window, resuming from READY's offset.
   * @throws when the server breaks the protocol.
   */
  async upload(path: string, data: Uint8Array, options: RawUploadOptions = {}): Promise<RawUploadResult> {
    const chunkBytes = options.chunkBytes ?? 256 * 1024;
    const windowBytes = options.windowBytes ?? 4 * 1024 * 1024;
    const ready = await this.request('UPLOAD', {
      path,
      size: options.size ?? data.length,
      ...(options.eofSha256 === undefined ? { sha256: options.sha256 ?? sha256(data) } : {}),
      mtimeMs: options.mtimeMs ?? 1_764_000_000_000,
      ...(options.baseRev === undefined ? {} : { baseRev: options.baseRev }),
    });
    if (ready.head !== REPLY.ready) return { offset: null, sent: 0, reply: ready };
    const offset = ready.body['offset'] as number;
    let acked = offset;
    let sent = 0;
    let position = offset;
    let last = ready;
    const takeAck = async (): Promise<LineMessage> => {
      const line = await this.line();
      if (line.head === REPLY.ack) acked = line.body['offset'] as number;
      last = line;
      return line;
    };
    while (position < data.length) {
      if (options.stopAfter !== undefined && acked >= options.stopAfter) return { offset, sent, reply: last };
      const end = Math.min(position + chunkBytes, data.length);
      while (position - acked + (end - position) > windowBytes) {
        const line = await takeAck();
        if (line.head !== REPLY.ack) return { offset, sent, reply: line };
      }
      this.sendFrame(data.subarray(position, end));
      sent += end - position;
      position = end;
      if (this.socket.writableNeedDrain) await new Promise((resolve) => this.socket.once('drain', resolve));
    }
    if (options.stopAfter !== undefined) {
      while (acked < options.stopAfter) {
        const line = await takeAck();
        if (line.head !== REPLY.ack) return { offset, sent, reply: line };
      }
      return { offset, sent, reply: last };
    }
    const atEof = options.eofSha256 === true ? sha256(data) : options.eofSha256;
    this.send('EOF', typeof atEof === 'string' ? { sha256: atEof } : undefined);
    for (;;) {
      const line = await this.line();
      if (line.head !== REPLY.ack) return { offset, sent, reply: line };
    }
  }

  /**
   * DOWNLOAD (or PREVIEW with `preview`): the bytes, the SENDING and EOF lines; or the ERR.
   * @throws when the server breaks the protocol.
   */
  async download(
    path: string,
    options: { offset?: number; compress?: boolean; preview?: number } = {},
  ): Promise<{ data: Buffer; sending: LineMessage; eof: LineMessage } | LineMessage> {
    const sending =
      options.preview === undefined
        ? await this.request('DOWNLOAD', { path, offset: options.offset ?? 0, compress: options.compress === true })
        : await this.request('PREVIEW', { path, bytes: options.preview });
    if (sending.head !== REPLY.sending) return sending;
    const start = sending.body['offset'] as number;
    const parts: Buffer[] = [];
    let received = 0;
    for (;;) {
      const message = await this.next();
      if (message === null) throw new Error('connection closed during a download');
      if (message.kind === 'data') {
        const payload = (message.flags & 1) !== 0 ? gunzipSync(message.payload) : message.payload;
        parts.push(Buffer.from(payload));
        received += payload.length;
        this.send(REPLY.ack, { offset: start + received });
        continue;
      }
      if (message.kind !== 'line') throw new Error('bad message during a download');
      return { data: Buffer.concat(parts), sending, eof: message };
    }
  }

  /** Closes the socket at once (as a killed client would). */
  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  /** Sends QUIT and waits for the close. */
  async quit(): Promise<void> {
    if (this.#ended) return;
    this.send('QUIT');
    await this.closed;
  }
}
