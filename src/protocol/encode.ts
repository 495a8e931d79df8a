/**
 * FOS/2 encoders: control lines and data frame headers. Pure: values in, bytes out.
 */
import { FRAME_HEADER_BYTES, FRAME_MARKER } from './constants.js';

/** Encodes `HEAD {json}\n`; an absent or empty body gives `HEAD\n`. */
export function encodeLine(head: string, body?: Readonly<Record<string, unknown>>): Buffer {
  const hasBody = body !== undefined && Object.keys(body).length > 0;
  return Buffer.from(hasBody ? `${head} ${JSON.stringify(body)}\n` : `${head}\n`, 'utf8');
}

/** The 6-byte header of a data frame; the payload follows it unchanged. */
export function encodeFrameHeader(flags: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt8(FRAME_MARKER, 0);
  header.writeUInt8(flags, 1);
  header.writeUInt32BE(length, 2);
  return header;
}

/** A whole data frame in one buffer (tests and small payloads; large ones use the header). */
export function encodeDataFrame(flags: number, payload: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(flags, payload.length), payload]);
}
