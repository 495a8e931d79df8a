/**
 * A loopback TCP proxy that counts the bytes between a client and a server, so that fos
 * and rsync are measured the same way: payload bytes on the wire in each direction,
 * after any compression, before TCP/IP headers.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import type { WireBytes } from './types.js';

/** A running counting proxy. */
export interface WireCounter {
  /** The loopback port clients connect to. */
  readonly port: number;
  /** Bytes since the last reset: sent is client → server, received is server → client. */
  read(): WireBytes;
  /** Starts a new count. */
  reset(): void;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (free port) and forwards each connection to 127.0.0.1:`targetPort`.
 * @throws Error when it cannot listen.
 */
export async function startWireCounter(targetPort: number): Promise<WireCounter> {
  let sentBytes = 0;
  let receivedBytes = 0;
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort, noDelay: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      // A reset on one side ends the pair; the error itself is the peer's business.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      sentBytes += chunk.length;
    });
    upstream.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('wire counter has no TCP address');
  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    read: () => ({ sentBytes, receivedBytes }),
    reset() {
      sentBytes = 0;
      receivedBytes = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
