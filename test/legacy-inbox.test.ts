/**
 * How legacy mode turns arriving bytes back into the seed client's messages
 * (src/server/legacy-io.ts): short reads are whole messages, a long one is gathered until
 * the client falls silent, chunks are cut at 4096 bytes, and floods are refused.
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FosError } from '../src/errors.js';
import { LEGACY_MAX_MESSAGE_BYTES, LEGACY_SEGMENT_BYTES, LegacyInbox } from '../src/server/legacy-io.js';
import { splitLegacyCommand } from '../src/server/legacy-session.js';

const TIMEOUT_MS = 5000;

let server: Server | null = null;
const sockets: Socket[] = [];

/** A connected pair on loopback: the server's end paused, as the dispatcher hands it over. */
async function socketPair(): Promise<{ near: Socket; far: Socket }> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer((socket) => {
      socket.pause();
      resolve(socket);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('no port');
  const far = connect({ port: address.port, host: '127.0.0.1', noDelay: true });
  const near = await accepted;
  sockets.push(near, far);
  return { near, far };
}

/** The code of a FosError a promise rejected with, or a description of what else happened. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return err instanceof FosError ? err.code : String(err);
  }
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve())));
  server = null;
});

describe('LegacyInbox', () => {
  it('takes a short read as a whole message, without waiting', async () => {
    const { near } = await socketPair();
    const inbox = new LegacyInbox(near, Buffer.from('alice:secret'));
    expect((await inbox.message(TIMEOUT_MS)).toString()).toBe('alice:secret');
  });

  it('gathers a long message that arrives in parts', async () => {
    const { near, far } = await socketPair();
    const head = Buffer.alloc(LEGACY_SEGMENT_BYTES + 88, 'a');
    const inbox = new LegacyInbox(near, head);
    far.write('tail');
    const message = await inbox.message(TIMEOUT_MS);
    expect(message.toString()).toBe(`${head.toString()}tail`);
  });

  it('cuts upload chunks at the chunk size and hands out a short rest at once', async () => {
    const { near } = await socketPair();
    const bytes = Buffer.alloc(4096 + 4096 + 10, 7);
    const inbox = new LegacyInbox(near, bytes);
    expect((await inbox.chunk(TIMEOUT_MS, 4096)).length).toBe(4096);
    expect((await inbox.chunk(TIMEOUT_MS, 4096)).length).toBe(4096);
    expect((await inbox.chunk(TIMEOUT_MS, 4096)).length).toBe(10);
  });

  it('refuses a message over the limit', async () => {
    const { near } = await socketPair();
    const inbox = new LegacyInbox(near, Buffer.alloc(LEGACY_MAX_MESSAGE_BYTES + 1, 1));
    expect(await codeOf(inbox.message(TIMEOUT_MS))).toBe('FOS_ERR_PROTO_LINE_TOO_LONG');
  });

  it('reports a close and a silent peer as errors', async () => {
    const closing = await socketPair();
    const inbox = new LegacyInbox(closing.near, Buffer.alloc(0));
    closing.far.end();
    expect(await codeOf(inbox.message(TIMEOUT_MS))).toBe('FOS_ERR_NET_CLOSED');

    const silent = await socketPair();
    const quiet = new LegacyInbox(silent.near, Buffer.alloc(0));
    expect(await codeOf(quiet.message(20))).toBe('FOS_ERR_PROTO_TIMEOUT');
  });

  it('gives back bytes put in front of what is unread', async () => {
    const { near } = await socketPair();
    const inbox = new LegacyInbox(near, Buffer.from('LIST'));
    const first = await inbox.message(TIMEOUT_MS);
    inbox.unshift(Buffer.from('DELETE'));
    expect(first.toString()).toBe('LIST');
    expect((await inbox.message(TIMEOUT_MS)).toString()).toBe('DELETE');
  });
});

describe('splitLegacyCommand', () => {
  const split = (text: string): [string | null, string] => {
    const result = splitLegacyCommand(Buffer.from(text, 'latin1'));
    return [result.command, result.rest.toString('latin1')];
  };

  it('reads bare words, ignoring spaces and line endings around them', () => {
    expect(split('LIST')).toEqual(['LIST', '']);
    expect(split('UPLOAD\r\n')).toEqual(['UPLOAD', '']);
    expect(split(' DELETE ')).toEqual(['DELETE', '']);
  });

  it('splits only what it can tell apart', () => {
    expect(split('LISTLIST')).toEqual(['LIST', 'LIST']);
    expect(split('UPLOADFILENAME:a.txt')).toEqual(['UPLOAD', 'FILENAME:a.txt']);
    expect(split('DOWNLOADPREVIEW')).toEqual(['DOWNLOAD', 'PREVIEW']);
    expect(split('DELETEME')).toEqual([null, '']);
    expect(split('UPLOADS')).toEqual([null, '']);
    expect(split('DOWNLOADFILENAME:a.txt')).toEqual([null, '']);
    expect(split('list')).toEqual([null, '']);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(splitLegacyCommand(Buffer.from([0x4c, 0x49, 0x53, 0x54, 0xff])).command).toBeNull();
  });
});
