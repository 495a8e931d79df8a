/**
 * Compression of data frame payloads (flag bits 0 and 1): brotli or gzip, chosen per
 * frame by the sender, undone by the receiver within a bound. Values in, values out; the
 * work runs on libuv's thread pool, so several frames pack at once.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlib, gunzip, gzip } from 'node:zlib';
import { FosError } from '../errors.js';
import { BROTLI_QUALITY, FLAG_BROTLI, FLAG_GZIP } from './constants.js';

const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** A compression method both peers support. */
export type FrameCompression = 'br' | 'gzip';

/** A payload ready to send: its flags and bytes. */
export interface PackedFrame {
  readonly flags: number;
  readonly payload: Buffer;
}

/**
 * Compresses `chunk` with `method`; the chunk itself (flags 0) when that does not save at
 * least a sixteenth, so incompressible data costs the receiver nothing.
 */
export async function packFrame(chunk: Buffer, method: FrameCompression): Promise<PackedFrame> {
  const packed =
    method === 'br'
      ? await brotliAsync(chunk, {
          params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: chunk.length },
        })
      : await gzipAsync(chunk, { level: zlib.Z_BEST_SPEED });
  if (packed.length >= chunk.length - (chunk.length >> 4)) return { flags: 0, payload: chunk };
  return { flags: method === 'br' ? FLAG_BROTLI : FLAG_GZIP, payload: packed };
}

/** Which methods were negotiated, for `unpackFrame`. */
export interface AcceptedCompression {
  readonly gzip: boolean;
  readonly brotli: boolean;
}

/**
 * The file bytes of a payload: decompressed when flagged, never more than `maxBytes`.
 * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` for unknown flags, a method that was not
 * negotiated or bytes that do not decode; `FOS_ERR_PROTO_FRAME_TOO_LARGE` for a plain
 * payload over `maxBytes`.
 */
export async function unpackFrame(flags: number, payload: Buffer, accepted: AcceptedCompression, maxBytes: number): Promise<Buffer> {
  if ((flags & ~(FLAG_GZIP | FLAG_BROTLI)) !== 0 || flags === (FLAG_GZIP | FLAG_BROTLI)) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `unknown data frame flags 0x${flags.toString(16)}`);
  }
  if (flags === 0) {
    if (payload.length > maxBytes) {
      throw new FosError('FOS_ERR_PROTO_FRAME_TOO_LARGE', `a data frame holds more than the chunk size of ${maxBytes}`);
    }
    return payload;
  }
  const isBrotli = flags === FLAG_BROTLI;
  if (isBrotli ? !accepted.brotli : !accepted.gzip) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `a ${isBrotli ? 'brotli' : 'gzip'} frame, but that was not negotiated`);
  }
  try {
    // The output bound stops a small frame from inflating into a huge one.
    return isBrotli ? await unbrotliAsync(payload, { maxOutputLength: maxBytes }) : await gunzipAsync(payload, { maxOutputLength: maxBytes });
  } catch (err) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `a compressed frame does not decode to at most ${maxBytes} bytes`, { cause: err });
  }
}
