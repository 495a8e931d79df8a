/**
 * A new connection: the greeting, then the first bytes decide the protocol. `HELLO ` is a
 * FOS/2 client; anything else is the seed's own client (legacy mode), which sends
 * `user:password` without a line ending. Until the bytes can tell (they are still a prefix
 * of `HELLO `), the dispatcher waits, up to the login timeout.
 */
import type { Socket } from 'node:net';
import { GREETING, HELLO_PREFIX } from '../protocol/constants.js';
import type { Logger } from '../log/logger.js';
import { startLegacySession } from './legacy-session.js';
import { startFos2Session } from './session.js';
import type { ServerServices, SessionHandle } from './session-types.js';

const HELLO_BYTES = Buffer.from(HELLO_PREFIX, 'utf8');

/** Which protocol the first bytes speak, or null while they are still a prefix of `HELLO `. */
export function detectProtocol(first: Buffer): 'fos2' | 'legacy' | null {
  const seen = Math.min(first.length, HELLO_BYTES.length);
  if (!first.subarray(0, seen).equals(HELLO_BYTES.subarray(0, seen))) return 'legacy';
  return first.length >= HELLO_BYTES.length ? 'fos2' : null;
}

/** Serves one accepted socket; the handle lets the listener shut it down. */
export function acceptConnection(socket: Socket, services: ServerServices, log: Logger): SessionHandle {
  return new PendingConnection(socket, services, log);
}

/** A connection before and after its protocol is known. */
class PendingConnection implements SessionHandle {
  readonly done: Promise<void>;
  readonly #socket: Socket;
  #session: SessionHandle | null = null;

  constructor(socket: Socket, services: ServerServices, log: Logger) {
    this.#socket = socket;
    socket.setNoDelay(true);
    // A reset peer emits 'error'; without a listener that would end the whole process.
    socket.on('error', (err) => log.debug({ err }, 'socket error'));
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const ip = socket.remoteAddress ?? '';
    this.done = new Promise<void>((resolve) => {
      let first = Buffer.alloc(0);
      const finish = (kind: 'fos2' | 'legacy' | null): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.pause();
        if (kind === null || socket.destroyed) {
          socket.destroy();
          resolve();
          return;
        }
        const options = { services, socket, firstBytes: first, remote, ip, log };
        const session = kind === 'fos2' ? startFos2Session(options) : startLegacySession(options);
        this.#session = session;
        void session.done.then(() => resolve());
      };
      const onData = (chunk: Buffer): void => {
        first = Buffer.concat([first, chunk]);
        const kind = detectProtocol(first);
        if (kind !== null) finish(kind);
      };
      const onClose = (): void => finish(null);
      // Silent peers are dropped; a peer that sent a prefix of `HELLO ` and stopped is
      // taken for a legacy client (whose login then fails as it should).
      const timer = setTimeout(() => finish(first.length > 0 ? 'legacy' : null), services.settings.authTimeoutMs);
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.write(GREETING);
    });
  }

  get isBusy(): boolean {
    return this.#session?.isBusy ?? false;
  }

  onShutdown(graceMs: number): void {
    if (this.#session === null) this.#socket.destroy();
    else this.#session.onShutdown(graceMs);
  }

  async close(): Promise<void> {
    if (this.#session === null) this.#socket.destroy();
    else await this.#session.close();
    await this.done;
  }
}
