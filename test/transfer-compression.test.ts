/**
 * Issue 8, W5: with compression on, a compressible file crosses the wire in brotli frames
 * (fewer bytes, same SHA-256, both ways); incompressible chunks go plain; a peer that
 * offers only gzip still gets gzip.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTcp } from '../src/client/connect.js';
import { Connection } from '../src/client/connection.js';
import { downloadFile } from '../src/client/download.js';
import { uploadFile } from '../src/client/upload.js';
import { RawPeer } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let scratch: string;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'alice', PASSWORD);
  scratch = await mkdtemp(join(tmpdir(), 'fos-compress-'));
});

afterAll(async () => {
  await server?.dispose();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** A connection whose socket is kept, so the bytes it moved can be read. */
async function counted(): Promise<{ connection: Connection; socket: () => Socket }> {
  let socket: Socket | undefined;
  const connection = await Connection.open({
    address: { host: '127.0.0.1', port: server.port },
    credentials: { kind: 'password', user: 'alice', password: PASSWORD },
    connect: async (address, signal) => {
      socket = (await connectTcp(address, signal)) as Socket;
      return socket;
    },
  });
  return { connection, socket: () => socket as Socket };
}

function logText(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i += 1) {
    const line = `2026-11-24T08:00:${String(i % 60).padStart(2, '0')}Z INFO [api] GET /api/v1/items/${(i * 7919) % 100_000} 200 ${i % 900}ms user=u${i % 13}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('compressed transfers', () => {
  it('negotiates brotli with a client that offers it, and only gzip with one that does not', async () => {
    const { connection } = await counted();
    expect(connection.negotiated).toMatchObject({ brotli: true, gzip: true });
    await connection.quit();
    const old = await RawPeer.connect(server.port);
    const hello = await old.request('HELLO', { version: 2, compress: ['gzip'] });
    expect(hello.body['compress']).toEqual(['gzip']);
    await old.destroy();
  });

  it('moves compressible text in fewer bytes than its size, with the same SHA-256 both ways', async () => {
    const data = logText(6 * 1024 * 1024 + 123);
    const source = join(scratch, 'app.log');
    await writeFile(source, data);
    const up = await counted();
    const entry = await uploadFile(up.connection, source, 'logs/app.log', { compress: true });
    expect(entry.sha256).toBe(sha256(data));
    expect(up.socket().bytesWritten).toBeLessThan(data.length / 4);
    await up.connection.quit();

    const down = await counted();
    const target = join(scratch, 'back.log');
    await downloadFile(down.connection, 'logs/app.log', target, { compress: true });
    expect((await readFile(target)).equals(data)).toBe(true);
    expect(down.socket().bytesRead).toBeLessThan(data.length / 4);
    await down.connection.quit();
  });

  it('sends random bytes plain (and whole) with compression on', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const source = join(scratch, 'random.bin');
    await writeFile(source, data);
    const up = await counted();
    const entry = await uploadFile(up.connection, source, 'random.bin', { compress: true });
    expect(entry.sha256).toBe(sha256(data));
    expect(up.socket().bytesWritten).toBeGreaterThan(data.length);
    await up.connection.quit();
  });
});
