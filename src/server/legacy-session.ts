/**
 * Legacy mode: the seed's own client (legacy-protocol.md), served on the same port. The
 * connection dispatcher calls `startLegacySession` when a connection's first bytes are
 * not `HELLO `, handing over the socket (paused, greeting already sent) and the bytes it
 * read (the start of the `user:password` login).
 *
 * Until legacy mode is built, every legacy login is refused with the seed's own text.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { LEGACY } from '../protocol/legacy.js';
import type { ServerServices, SessionHandle } from './session-types.js';

/** What a legacy session starts from. */
export interface LegacySessionOptions {
  readonly services: ServerServices;
  /** Paused; the greeting has been sent. Resume it to read on. */
  readonly socket: Socket;
  /** The bytes already read from the peer. */
  readonly firstBytes: Buffer;
  /** `ip:port` of the peer. */
  readonly remote: string;
  readonly ip: string;
  readonly log: Logger;
}

/** Starts a legacy session on a socket. */
export function startLegacySession(options: LegacySessionOptions): SessionHandle {
  const { socket } = options;
  const done = new Promise<void>((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
  socket.end(LEGACY.authFailed);
  return {
    onShutdown() {
      if (!socket.destroyed && socket.writable) socket.write(LEGACY.shutdown);
    },
    isBusy: false,
    async close() {
      socket.destroy();
      await done;
    },
    done,
  };
}
