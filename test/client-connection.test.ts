/**
 * The client library against a scripted peer: the upload keeps at most a window of bytes
 * unacknowledged and never waits a round trip per chunk, starts from the server's READY
 * offset, notices SERVER SHUTDOWN, and times out on a silent server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, FosClient, connectTcp } from '../src/client/index.js';
import { FosError } from '../src/errors.js';
import { REPLY, REQUEST } from '../src/protocol/constants.js';
import { startFakeServer } from './client-fake-server.js';
import type { FakeServer } from './client-fake-server.js';

const CHUNK = 4096;
const WINDOW = 4 * CHUNK;
const credentials = { kind: 'password', user: 'fake', password: 'x' } as const;

let server: FakeServer | null = null;
let dir: string | null = null;

afterEach(async () => {
  await server?.close();
  server = null;
  if (dir !== null) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('upload window', () => {
  it('sends a whole window before any acknowledgement, never more, and starts at the READY offset', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fos-client-'));
    const content = randomBytes(10 * WINDOW + 123);
    const local = join(dir, 'data.bin');
    await writeFile(local, content);
    const offset = 3 * CHUNK + 17;
    let size = 0;
    let received = 0;
    let acked = offset;
    let mostUnacked = 0;
    const parts: Buffer[] = [];
    server = await startFakeServer({ chunkBytes: CHUNK, windowBytes: WINDOW }, (message, peer) => {
      if (message.kind === 'line' && message.head === REQUEST.upload) {
        size = Number(message.body['size']);
        expect(message.body['sha256']).toBe(createHash('sha256').update(content).digest('hex'));
        received = offset;
        peer.send(REPLY.ready, { offset });
      } else if (message.kind === 'data') {
        expect(message.payload.length).toBeLessThanOrEqual(CHUNK);
        parts.push(Buffer.from(message.payload));
        received += message.payload.length;
        mostUnacked = Math.max(mostUnacked, received - acked);
        // Acknowledge only once a full window (or the rest of the file) is in: a client that
        // waited for an acknowledgement per chunk would stall here.
        if (received - acked >= WINDOW || received === size) {
          acked = received;
          peer.send(REPLY.ack, { offset: acked });
        }
      } else if (message.kind === 'line' && message.head === REPLY.eof) {
        peer.send(REPLY.ok, { entry: { path: 'data.bin', kind: 'file', size, mtimeMs: 1, sha256: 'x', rev: 1, deleted: false } });
      }
    });
    const client = await FosClient.connect({ address: { host: '127.0.0.1', port: server.port }, credentials, timeoutMs: 5000 });
    const progress: number[] = [];
    const entry = await client.upload(local, 'data.bin', { onProgress: ({ bytes }) => progress.push(bytes) });
    await client.close();
    expect(entry.size).toBe(content.length);
    expect(Buffer.concat(parts).equals(content.subarray(offset))).toBe(true);
    expect(mostUnacked).toBe(WINDOW);
    expect(progress.at(-1)).toBe(content.length);
    expect(progress.every((bytes, i) => i === 0 || bytes >= (progress[i - 1] ?? 0))).toBe(true);
  });
});

describe('connection', () => {
  it('treats SERVER SHUTDOWN as the end of the connection for new requests', async () => {
    server = await startFakeServer({ chunkBytes: CHUNK, windowBytes: WINDOW }, (message, peer) => {
      if (message.kind === 'line' && message.head === REQUEST.stat) {
        peer.send(REPLY.shutdown, { graceMs: 1000 });
        peer.send(REPLY.ok, { entry: { path: 'a', kind: 'file', size: 0, mtimeMs: 1, sha256: 'x', rev: 1, deleted: false } });
      }
    });
    const client = await FosClient.connect({ address: { host: '127.0.0.1', port: server.port }, credentials });
    const entry = await client.stat('a');
    expect(entry.path).toBe('a');
    expect(client.isUsable).toBe(false);
    await expect(client.stat('a')).rejects.toMatchObject({ code: 'FOS_ERR_PROTO_SHUTTING_DOWN' });
    await client.close();
  });

  it('times out on a server that greets and then says nothing', async () => {
    server = await startFakeServer({ chunkBytes: CHUNK, windowBytes: WINDOW, silent: true }, () => undefined);
    const err = await Connection.open({ address: { host: '127.0.0.1', port: server.port }, credentials, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FosError);
    expect((err as FosError).code).toBe('FOS_ERR_NET_TIMEOUT');
  });

  it('words a refused connection for people', async () => {
    server = await startFakeServer({ chunkBytes: CHUNK, windowBytes: WINDOW }, () => undefined);
    const port = server.port;
    await server.close();
    server = null;
    const err = await connectTcp({ host: '127.0.0.1', port }, undefined).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FOS_ERR_NET_CONNECT', message: `cannot reach 127.0.0.1:${port}: connection refused` });
  });

  it('an abort during a wait closes the connection and rejects with the reason', async () => {
    server = await startFakeServer({ chunkBytes: CHUNK, windowBytes: WINDOW }, () => undefined);
    const client = await FosClient.connect({ address: { host: '127.0.0.1', port: server.port }, credentials });
    const controller = new AbortController();
    const pending = client.list('', { signal: controller.signal });
    controller.abort(new FosError('FOS_ERR_CLI_ABORTED', 'stop'));
    await expect(pending).rejects.toMatchObject({ code: 'FOS_ERR_CLI_ABORTED', message: 'stop' });
    expect(client.isUsable).toBe(false);
    await client.close();
  });
});
