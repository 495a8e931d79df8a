/**
 * The TCP listener: accepts connections within the connection limits (in total and per
 * address), gives each a session, and on shutdown stops accepting, tells every session,
 * waits for transfers in flight up to the grace period, then closes what is left.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';
import type { TlsOptions } from 'node:tls';
import { FosError } from '../errors.js';
import { ConnectionLimits } from '../security/conn-limits.js';
import { acceptConnection } from './connection.js';
import type { ServerServices, SessionHandle } from './session-types.js';

/** How often the shutdown looks whether every transfer has finished. */
const SHUTDOWN_POLL_MS = 25;

/** Options of {@link Listener.open}. */
export interface ListenerOptions {
  readonly host: string;
  /** 0 for an ephemeral port. */
  readonly port: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** Speak TLS with these options; plain TCP when absent. */
  readonly tls?: TlsOptions;
  readonly services: ServerServices;
}

/** A listening server socket and the sessions it started. */
export class Listener {
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  readonly #sessions = new Set<SessionHandle>();
  #closing: Promise<void> | undefined;

  private constructor(server: Server, host: string, port: number) {
    this.#server = server;
    this.host = host;
    this.port = port;
  }

  /**
   * Listens and resolves once the port is open.
   * @throws FosError `FOS_ERR_NET_CONNECT` when the address cannot be listened on.
   */
  static async open(options: ListenerOptions): Promise<Listener> {
    const { services } = options;
    const limits = new ConnectionLimits({ maxTotal: options.maxConnections, maxPerIp: options.maxConnectionsPerIp });
    const log = services.logger;
    let nextId = 1;
    let listener: Listener | undefined;
    // One context for every connection; TLS wraps a socket only after the connection limits
    // let it in, so a flood of handshakes costs no more than a flood of plain connections.
    const secureContext = options.tls === undefined ? undefined : createSecureContext(options.tls);
    const server = createServer({ noDelay: true }, (raw: Socket) => {
      const address = raw.remoteAddress;
      if (listener === undefined || listener.#closing !== undefined) {
        raw.destroy();
        return;
      }
      const refusal = limits.acquire(address);
      if (refusal !== null) {
        log.warn({ remote: address, limit: refusal }, 'connection refused: too many connections');
        raw.destroy();
        return;
      }
      const socket = secureContext === undefined ? raw : new TLSSocket(raw, { isServer: true, secureContext });
      const id = nextId;
      nextId += 1;
      services.metrics?.connections.inc();
      services.metrics?.connectionsTotal.inc();
      const session = acceptConnection(socket, services, log.child({ conn: id, remote: `${address ?? '?'}:${socket.remotePort ?? 0}` }));
      const sessions = listener.#sessions;
      sessions.add(session);
      void session.done.then(() => {
        sessions.delete(session);
        limits.release(address);
        services.metrics?.connections.dec();
      });
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new FosError('FOS_ERR_NET_CONNECT', `cannot listen on ${options.host}:${options.port}: ${err.message}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen(options.port, options.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => log.error({ err }, 'listener error'));
    const address = server.address() as AddressInfo;
    listener = new Listener(server, options.host, address.port);
    return listener;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#sessions.size;
  }

  /**
   * Stops accepting, sends every session the shutdown notice, lets busy sessions finish
   * within `graceMs`, then closes all connections. The same promise on every call.
   */
  shutdown(graceMs: number): Promise<void> {
    this.#closing ??= this.#shutdown(graceMs);
    return this.#closing;
  }

  async #shutdown(graceMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.onShutdown(graceMs);
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && [...this.#sessions].some((session) => session.isBusy)) {
      await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_POLL_MS));
    }
    await Promise.all([...this.#sessions].map((session) => session.close()));
    await stopped;
  }
}
