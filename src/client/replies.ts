/** Small checks on the server's replies, shared by every operation. */
import { FosError } from '../errors.js';
import type { LineMessage } from '../protocol/frame-decoder.js';

/** The error for a reply that breaks the protocol. */
export function protocolError(message: string): FosError {
  return new FosError('FOS_ERR_PROTO_BAD_REQUEST', `protocol error: ${message}`);
}

/**
 * Checks a reply's head.
 * @throws FosError FOS_ERR_PROTO_BAD_REQUEST naming what was expected.
 */
export function expectHead(line: LineMessage, head: string): LineMessage {
  if (line.head !== head) throw protocolError(`expected ${head}, got ${line.head}`);
  return line;
}
