/**
 * Opening a FOS/2 session: the server's greeting, HELLO (chunk size, window, compression), AUTH
 * with a password or a device token (docs/protocol.md, "Opening a connection").
 */
import { FosError } from '../errors.js';
import {
  COMPRESSION,
  FEATURE,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_WINDOW_BYTES,
  MAX_CHUNK_BYTES,
  MAX_WINDOW_BYTES,
  MIN_CHUNK_BYTES,
  PROTOCOL_VERSION,
  REPLY,
  REQUEST,
} from '../protocol/constants.js';
import type { LineMessage } from '../protocol/frame-decoder.js';
import { decodeReply, replySchemas } from '../protocol/messages.js';
import { VERSION } from '../version.js';
import type { Connection } from './connection.js';
import { expectHead, protocolError } from './replies.js';
import type { ConnectionOptions, Negotiated } from './types.js';

/** Head of the synthetic message that stands for the server's unterminated greeting. */
export const GREETING_HEAD = 'GREETING';

/**
 * Reads the greeting, negotiates and logs in.
 * @throws FosError `FOS_ERR_PROTO_UNSUPPORTED`, `FOS_ERR_AUTH_FAILED`,
 * `FOS_ERR_AUTH_RATE_LIMITED`, `FOS_ERR_PROTO_BAD_REQUEST`, connection errors.
 */
export async function handshake(
  connection: Connection,
  options: ConnectionOptions,
  signal: AbortSignal | undefined,
): Promise<{ negotiated: Negotiated; user: string }> {
  const greeting = await connection.nextLine({ signal });
  if (greeting.head !== GREETING_HEAD) throw protocolError('the server did not greet as a fos server does');
  const offer = {
    version: PROTOCOL_VERSION,
    client: options.clientName ?? `fos ${VERSION}`,
    chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
    windowBytes: options.windowBytes ?? DEFAULT_WINDOW_BYTES,
    compress: options.gzip === false ? [] : [COMPRESSION.brotli, COMPRESSION.gzip],
    features: options.features ?? [FEATURE.delta, FEATURE.uploads, FEATURE.eofHash],
  };
  const hello = decodeReply(replySchemas.hello, expectHead(await connection.request(REQUEST.hello, offer, signal), REPLY.hello));
  if (hello.version !== PROTOCOL_VERSION) {
    throw new FosError('FOS_ERR_PROTO_UNSUPPORTED', `the server speaks protocol version ${hello.version}, not ${PROTOCOL_VERSION}`);
  }
  const chunkBytes = Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, hello.chunkBytes));
  const negotiated: Negotiated = Object.freeze({
    server: hello.server,
    chunkBytes,
    windowBytes: Math.min(MAX_WINDOW_BYTES, Math.max(chunkBytes, hello.windowBytes)),
    gzip: offer.compress.includes(COMPRESSION.gzip) && hello.compress.includes(COMPRESSION.gzip),
    brotli: offer.compress.includes(COMPRESSION.brotli) && hello.compress.includes(COMPRESSION.brotli),
    features: offer.features.filter((feature) => hello.features?.includes(feature) === true),
  });
  const { credentials } = options;
  const auth = credentials.kind === 'password' ? { user: credentials.user, password: credentials.password } : { token: credentials.token };
  let reply: LineMessage;
  try {
    reply = await connection.request(REQUEST.auth, auth, signal);
  } catch (err) {
    // The wire has one RATE_LIMITED; during AUTH it means too many failed logins.
    if (err instanceof FosError && err.code === 'FOS_ERR_NET_RATE_LIMITED') {
      throw new FosError('FOS_ERR_AUTH_RATE_LIMITED', err.message, { details: err.details });
    }
    throw err;
  }
  return { negotiated, user: decodeReply(replySchemas.authOk, expectHead(reply, REPLY.authOk)).user };
}
