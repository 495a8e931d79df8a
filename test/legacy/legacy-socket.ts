/**
 * A legacy-protocol peer for tests written in TypeScript: one write per message and
 * stop-and-wait, as the seed's client. `reply()` stands for one `recv()`. The server
 * keeps its messages apart with short pauses, which a loaded test machine can defeat by
 * reading late, so the multi-message answers (a listing or a preview and its `EOF`, a
 * download) are read as a byte stream with `untilEof()` and `take()`; the faithful
 * one-`recv()`-per-message reading is what test/legacy/seed_client.py checks.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

const REPLY_TIMEOUT_MS = 10_000;
const EOF = Buffer.from('EOF');

/** The greeting every connection starts with. */
export const LEGACY_GREETING = "AUTH REQUIRED. SEND 'USERNAME:PASSWORD'";

/** A connection speaking the seed's protocol. */
export class LegacySocket {
  readonly #socket: Socket;
  #received = Buffer.alloc(0);
  #isClosed = false;
  #wake: (() => void) | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
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
    await this.#until(() => this.#received.length > 0, timeoutMs);
    const all = this.#received;
    this.#received = Buffer.alloc(0);
    return all;
  }

  /** {@link reply} as UTF-8 text. */
  async replyText(timeoutMs = REPLY_TIMEOUT_MS): Promise<string> {
    return (await this.reply(timeoutMs)).toString('utf8');
  }

  /**
   * Exactly the next `bytes` bytes of the stream; what follows stays unread.
   * @throws Error as {@link reply}.
   */
  async take(bytes: number, timeoutMs = REPLY_TIMEOUT_MS): Promise<Buffer> {
    await this.#until(() => this.#received.length >= bytes, timeoutMs);
    const taken = this.#received.subarray(0, bytes);
    this.#received = this.#received.subarray(bytes);
    return taken;
  }

  /**
   * The bytes up to the next `EOF` marker, which is consumed; what follows stays unread.
   * Only for answers that cannot hold `EOF` themselves: listings, failure texts, text
   * previews (a download is read with {@link take}, by its known length).
   * @throws Error as {@link reply}.
   */
  async untilEof(timeoutMs = REPLY_TIMEOUT_MS): Promise<Buffer> {
    await this.#until(() => this.#received.includes(EOF), timeoutMs);
    const at = this.#received.indexOf(EOF);
    const before = this.#received.subarray(0, at);
    this.#received = this.#received.subarray(at + EOF.length);
    return before;
  }

  async #until(isReady: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!isReady()) {
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
      this.#received = Buffer.alloc(0);
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
