/**
 * A legacy-protocol peer for tests written in TypeScript: one write per message and
 * stop-and-wait, as the seed's client, with each `reply()` standing for one `recv()`.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

const REPLY_TIMEOUT_MS = 10_000;

/** The greeting every connection starts with. */
export const LEGACY_GREETING = "AUTH REQUIRED. SEND 'USERNAME:PASSWORD'";

/** A connection speaking the seed's protocol. */
export class LegacySocket {
  readonly #socket: Socket;
  readonly #received: Buffer[] = [];
  #isClosed = false;
  #wake: (() => void) | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received.push(chunk);
      this.#wake?.();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.#isClosed = true;
      this.#wake?.();
    });
  }

  /**
   * Connects and reads the greeting.
   * @throws Error when the greeting is not the seed's.
   */
  static async open(port: number, host = '127.0.0.1'): Promise<LegacySocket> {
    const socket = connect({ port, host, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const peer = new LegacySocket(socket);
    const greeting = await peer.replyText();
    if (greeting !== LEGACY_GREETING) throw new Error(`unexpected greeting ${JSON.stringify(greeting)}`);
    return peer;
  }

  /**
   * Connects and logs in; resolves with the server's answer to the login.
   * @throws Error as {@link open}.
   */
  static async login(port: number, user: string, password: string): Promise<{ peer: LegacySocket; answer: string }> {
    const peer = await LegacySocket.open(port);
    peer.send(`${user}:${password}`);
    return { peer, answer: await peer.replyText() };
  }

  /** True once the server has closed the connection. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Sends one message in one write. */
  send(message: string | Uint8Array): void {
    this.#socket.write(message);
  }

  /**
   * Everything that has arrived, once something has: one `recv()`.
   * @throws Error when nothing arrives in time or the connection closes first.
   */
  async reply(timeoutMs = REPLY_TIMEOUT_MS): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#received.length === 0) {
      if (this.#isClosed) throw new Error('the server closed the connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = null;
          resolve();
        };
      });
    }
    const all = Buffer.concat(this.#received);
    this.#received.length = 0;
    return all;
  }

  /** {@link reply} as UTF-8 text. */
  async replyText(timeoutMs = REPLY_TIMEOUT_MS): Promise<string> {
    return (await this.reply(timeoutMs)).toString('utf8');
  }

  /**
   * Replies until one is exactly `EOF`, as the seed's client reads a download, a preview
   * or a listing; resolves with the bytes before it.
   * @throws Error as {@link reply}.
   */
  async untilEof(): Promise<Buffer> {
    const pieces: Buffer[] = [];
    for (;;) {
      const piece = await this.reply();
      if (piece.toString('latin1') === 'EOF') return Buffer.concat(pieces);
      pieces.push(piece);
    }
  }

  /**
   * Resolves once the server has closed the connection.
   * @throws Error when it stays open for `timeoutMs`.
   */
  async closed(timeoutMs = REPLY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#isClosed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`still open after ${timeoutMs} ms`);
      this.#received.length = 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = null;
          resolve();
        };
      });
    }
  }

  /** Stops reading: the server's writes back up into the socket buffers, as with a slow client. */
  pauseReading(): void {
    this.#socket.pause();
  }

  /** Reads again after {@link pauseReading}. */
  resumeReading(): void {
    this.#socket.resume();
  }

  /** Closes at once (a reset when bytes are unread). */
  destroy(): void {
    this.#socket.destroy();
  }

  /** Closes after what was written. */
  async end(): Promise<void> {
    if (this.#isClosed) return;
    this.#socket.end();
    await this.closed().catch(() => this.#socket.destroy());
  }
}

/**
 * UTF-8 bytes of a string in which a lone surrogate is encoded as its own three bytes
 * (as WTF-8 does): what a client that does not check its text would send. Node's encoder
 * would turn it into U+FFFD, a legal name, and the hostile path would be lost.
 */
export function looseUtf8(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      bytes.push(...Buffer.from(text.slice(i, i + 2), 'utf8'));
      i += 1;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      bytes.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
    } else {
      bytes.push(...Buffer.from(text[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes);
}
