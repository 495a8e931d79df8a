/**
 * A scripted FOS/2 peer for client tests that need to see exactly what the client sends:
 * it greets, negotiates, accepts any login and hands every later message to a handler.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { GREETING, MAX_FRAME_BYTES, MAX_REQUEST_LINE_BYTES, REPLY, REQUEST } from '../src/protocol/constants.js';
import { encodeLine } from '../src/protocol/encode.js';
import { FrameDecoder } from '../src/protocol/frame-decoder.js';
import type { Message } from '../src/protocol/frame-decoder.js';

/** What a handler can do on its connection. */
export interface FakePeer {
  readonly socket: Socket;
  send(head: string, body?: Record<string, unknown>): void;
}

/** Settings the fake server answers HELLO with. */
export interface FakeSettings {
  readonly chunkBytes: number;
  readonly windowBytes: number;
  /** Answer nothing after the greeting (a silent server). */
  readonly silent?: boolean;
}

/** A listening fake server. */
export interface FakeServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a fake server on 127.0.0.1; `onMessage` gets every message after AUTH. */
export async function startFakeServer(settings: FakeSettings, onMessage: (message: Message, peer: FakePeer) => void): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const decoder = new FrameDecoder({ maxLineBytes: MAX_REQUEST_LINE_BYTES, maxFrameBytes: MAX_FRAME_BYTES });
    const peer: FakePeer = { socket, send: (head, body) => socket.write(encodeLine(head, body)) };
    let loggedIn = false;
    socket.write(GREETING);
    if (settings.silent === true) return;
    socket.on('data', (chunk: Buffer) => {
      for (const message of decoder.push(chunk)) {
        if (!loggedIn && message.kind === 'line' && message.head === REQUEST.hello) {
          peer.send(REPLY.hello, { version: 2, server: 'fake', chunkBytes: settings.chunkBytes, windowBytes: settings.windowBytes, compress: ['gzip'] });
        } else if (!loggedIn && message.kind === 'line' && message.head === REQUEST.auth) {
          loggedIn = true;
          peer.send(REPLY.authOk, { user: 'fake' });
        } else {
          onMessage(message, peer);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
