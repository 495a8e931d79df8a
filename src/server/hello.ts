/**
 * HELLO negotiation: the smaller of both sides' chunk sizes and windows, clamped to the
 * protocol's limits, the compression methods and the optional features both support. Pure.
 */
import { FosError } from '../errors.js';
import { COMPRESSION, FEATURE, MAX_CHUNK_BYTES, MAX_WINDOW_BYTES, MIN_CHUNK_BYTES, PROTOCOL_VERSION } from '../protocol/constants.js';
import type { RequestArgs } from '../protocol/messages.js';
import type { Negotiated } from './session-types.js';

/** What the server offers. */
export interface HelloOffer {
  readonly chunkBytes: number;
  readonly windowBytes: number;
}

/**
 * The agreed parameters for a client's HELLO.
 * @throws FosError `FOS_ERR_PROTO_UNSUPPORTED` for another protocol version.
 */
export function negotiate(hello: RequestArgs<'HELLO'>, offer: HelloOffer): Negotiated {
  if (hello.version !== PROTOCOL_VERSION) {
    throw new FosError('FOS_ERR_PROTO_UNSUPPORTED', `protocol version ${hello.version} is not supported; this server speaks ${PROTOCOL_VERSION}`, {
      details: { version: PROTOCOL_VERSION },
    });
  }
  const chunkBytes = clamp(Math.min(hello.chunkBytes ?? offer.chunkBytes, offer.chunkBytes), MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
  const windowBytes = clamp(Math.min(hello.windowBytes ?? offer.windowBytes, offer.windowBytes), chunkBytes, MAX_WINDOW_BYTES);
  const gzip = hello.compress?.includes(COMPRESSION.gzip) === true;
  const brotli = hello.compress?.includes(COMPRESSION.brotli) === true;
  const features = SERVER_FEATURES.filter((feature) => hello.features?.includes(feature) === true);
  return { chunkBytes, windowBytes, gzip, brotli, features };
}

/** The optional features this server has. */
const SERVER_FEATURES: readonly string[] = [FEATURE.delta, FEATURE.uploads, FEATURE.eofHash];

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
