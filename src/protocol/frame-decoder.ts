/**
 * FOS/2 framing: control lines (`HEAD {json}\n`, UTF-8, bounded) and binary data frames
 * (0xFD, flags, u32 length, payload). Bytes in, messages out; no sockets, no timers.
 */
import { FosError } from '../errors.js';
import { FRAME_HEADER_BYTES, FRAME_MARKER } from './constants.js';

/** A decoded control line. `body` is the JSON object after the head ({} when absent). */
export interface LineMessage {
  readonly kind: 'line';
  readonly head: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** A decoded data frame. */
export interface DataMessage {
  readonly kind: 'data';
  readonly flags: number;
  readonly payload: Buffer;
}

/**
 * A line that was framed correctly but whose content is not a valid message (bad UTF-8,
 * bad JSON, bad head). The stream is still in step, so the peer can answer and go on.
 */
export interface BadMessage {
  readonly kind: 'bad';
  readonly error: FosError;
}

export type Message = LineMessage | DataMessage | BadMessage;

/** Limits a decoder enforces before it buffers anything a peer sends. */
export interface DecoderLimits {
  readonly maxLineBytes: number;
  readonly maxFrameBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;
const HEAD_PATTERN = /^[A-Z][A-Z0-9]*(?: [A-Z][A-Z0-9]*)*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Incremental decoder. Feed it whatever TCP delivers; it returns the complete messages.
 * Throws FosError on a framing violation (over-long line, over-size frame): the stream
 * cannot be trusted after that and the connection should be answered and closed.
 */
export class FrameDecoder {
  readonly #limits: DecoderLimits;
  #buffers: Buffer[] = [];
  #buffered = 0;
  /** Payload length and flags of the data frame being received, or null between frames. */
  #frame: { readonly length: number; readonly flags: number } | null = null;
  /** How far the LF search has already looked, so a long line is scanned once. */
  #scanned = 0;

  constructor(limits: DecoderLimits) {
    this.#limits = limits;
  }

  /** Bytes received but not yet part of a complete message. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Adds bytes and returns every message they complete, in order. */
  push(chunk: Buffer): Message[] {
    if (chunk.length > 0) {
      this.#buffers.push(chunk);
      this.#buffered += chunk.length;
    }
    const out: Message[] = [];
    for (;;) {
      const message = this.#next();
      if (message === null) return out;
      out.push(message);
    }
  }

  #next(): Message | null {
    if (this.#frame !== null) return this.#nextPayload(this.#frame);
    if (this.#buffered === 0) return null;
    const first = this.#buffers[0];
    if (first === undefined) return null;
    if (first[0] === FRAME_MARKER) return this.#nextFrameHeader();
    return this.#nextLine();
  }

  #nextFrameHeader(): Message | null {
    if (this.#buffered < FRAME_HEADER_BYTES) return null;
    const header = this.#take(FRAME_HEADER_BYTES);
    const flags = header.readUInt8(1);
    const length = header.readUInt32BE(2);
    if (length > this.#limits.maxFrameBytes) {
      throw new FosError(
        'FOS_ERR_PROTO_FRAME_TOO_LARGE',
        `data frame of ${length} bytes is over the limit of ${this.#limits.maxFrameBytes}`,
      );
    }
    this.#frame = { length, flags };
    return this.#nextPayload(this.#frame);
  }

  #nextPayload(frame: { readonly length: number; readonly flags: number }): Message | null {
    if (this.#buffered < frame.length) return null;
    this.#frame = null;
    return { kind: 'data', flags: frame.flags, payload: this.#take(frame.length) };
  }

  #nextLine(): Message | null {
    const end = this.#findLineFeed();
    if (end < 0) {
      if (this.#buffered > this.#limits.maxLineBytes) {
        throw new FosError(
          'FOS_ERR_PROTO_LINE_TOO_LONG',
          `control line longer than ${this.#limits.maxLineBytes} bytes`,
        );
      }
      return null;
    }
    if (end > this.#limits.maxLineBytes) {
      throw new FosError('FOS_ERR_PROTO_LINE_TOO_LONG', `control line longer than ${this.#limits.maxLineBytes} bytes`);
    }
    const raw = this.#take(end + 1);
    this.#scanned = 0;
    const stop = end > 0 && raw[end - 1] === CR ? end - 1 : end;
    return parseLine(raw.subarray(0, stop));
  }

  /** Global index of the first LF in the buffered bytes, or -1. */
  #findLineFeed(): number {
    let base = 0;
    for (const buffer of this.#buffers) {
      if (base + buffer.length > this.#scanned) {
        const from = Math.max(0, this.#scanned - base);
        const at = buffer.indexOf(LF, from);
        if (at >= 0) return base + at;
      }
      base += buffer.length;
    }
    this.#scanned = base;
    return -1;
  }

  /** Removes and returns the first `n` buffered bytes; zero-copy when one buffer holds them. */
  #take(n: number): Buffer {
    const first = this.#buffers[0];
    if (first !== undefined && first.length >= n) {
      this.#buffered -= n;
      if (first.length === n) this.#buffers.shift();
      else this.#buffers[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const buffer = this.#buffers[0];
      if (buffer === undefined) break;
      const want = n - filled;
      if (buffer.length <= want) {
        buffer.copy(out, filled);
        filled += buffer.length;
        this.#buffers.shift();
      } else {
        buffer.copy(out, filled, 0, want);
        filled += want;
        this.#buffers[0] = buffer.subarray(want);
      }
    }
    this.#buffered -= n;
    return out;
  }
}

/** Parses one control line (without its LF) into a head and a JSON object body. */
export function parseLine(bytes: Uint8Array): LineMessage | BadMessage {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return bad('control line is not valid UTF-8');
  }
  const brace = text.indexOf(' {');
  const head = (brace < 0 ? text : text.slice(0, brace)).trim();
  if (!HEAD_PATTERN.test(head)) return bad('control line must start with an upper-case command word');
  if (brace < 0) return { kind: 'line', head, body: {} };
  let body: unknown;
  try {
    body = JSON.parse(text.slice(brace + 1));
  } catch {
    return bad(`${head}: arguments are not valid JSON`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return bad(`${head}: arguments must be a JSON object`);
  }
  return { kind: 'line', head, body: body as Record<string, unknown> };
}

function bad(message: string): BadMessage {
  return { kind: 'bad', error: new FosError('FOS_ERR_PROTO_BAD_REQUEST', message) };
}
