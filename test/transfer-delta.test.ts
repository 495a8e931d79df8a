/**
 * Issue 8, W3: a delta upload over an existing version sends only the blocks that changed
 * (BLOCKS, then UPLOAD with `delta` and COPY lines), and the server commits exactly what
 * a full upload would. Without the feature, against a version that moved on, or with a
 * COPY that does not fit, nothing goes wrong: a full upload, a CONFLICT, or an ERR.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTcp } from '../src/client/connect.js';
import { Connection } from '../src/client/connection.js';
import { uploadFile } from '../src/client/upload.js';
import { sha256FileBlocks } from '../src/fs/hash.js';
import { DELTA_BLOCK_BYTES, FEATURE } from '../src/protocol/constants.js';
import { RawPeer, errCode } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const MiB = 1024 * 1024;
let server: TestServer;
let scratch: string;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'alice', PASSWORD);
  scratch = await mkdtemp(join(tmpdir(), 'fos-delta-'));
});

afterAll(async () => {
  await server?.dispose();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** A connection whose socket is kept, so the bytes it sent can be read. */
async function counted(options: { features?: readonly string[] } = {}): Promise<{ connection: Connection; sent: () => number }> {
  let socket: Socket | undefined;
  const connection = await Connection.open({
    address: { host: '127.0.0.1', port: server.port },
    credentials: { kind: 'password', user: 'alice', password: PASSWORD },
    ...options,
    connect: async (address, signal) => {
      socket = (await connectTcp(address, signal)) as Socket;
      return socket;
    },
  });
  return { connection, sent: () => socket?.bytesWritten ?? 0 };
}

async function serverCopy(path: string): Promise<Buffer> {
  return readFile(join(server.dataDir, 'uploads', 'alice', ...path.split('/')));
}

/** Uploads `data` fresh as `path` and returns the committed revision. */
async function seed(path: string, data: Buffer): Promise<number> {
  const source = join(scratch, `seed-${path.replaceAll('/', '_')}`);
  await writeFile(source, data);
  const { connection } = await counted();
  try {
    return (await uploadFile(connection, source, path, { baseRev: null })).rev;
  } finally {
    await connection.quit();
  }
}

describe('delta uploads', () => {
  it('sends only the changed MiB of an 8 MiB file, and the server holds the new bytes', async () => {
    const old = randomBytes(8 * MiB + 4321);
    const rev = await seed('delta/big.bin', old);
    const changed = Buffer.from(old);
    randomBytes(MiB).copy(changed, 3 * MiB + 777);
    const source = join(scratch, 'big.bin');
    await writeFile(source, changed);
    const { connection, sent } = await counted();
    expect(connection.negotiated.features).toContain(FEATURE.delta);
    const entry = await uploadFile(connection, source, 'delta/big.bin', { baseRev: rev });
    await connection.quit();
    expect(entry).toMatchObject({ size: changed.length, sha256: sha256(changed) });
    expect(entry.rev).toBeGreaterThan(rev);
    // The change spans two 1 MiB blocks; everything else is COPY lines.
    expect(sent()).toBeLessThan(2 * DELTA_BLOCK_BYTES + 64 * 1024);
    expect((await serverCopy('delta/big.bin')).equals(changed)).toBe(true);
    // The upload recorded the new version's blocks; BLOCKS gives exactly those of the file.
    const raw = await RawPeer.login(server.port, 'alice', PASSWORD, { features: ['delta'] });
    const blocks = await raw.request('BLOCKS', { path: 'delta/big.bin', blockBytes: MiB });
    await raw.destroy();
    expect(blocks.body).toMatchObject({ rev: entry.rev, blocks: (await sha256FileBlocks(source, MiB)).blocks });
  });

  it('with the SHA-256 given (the sync), compares blocks while it sends them: same bytes, same result', async () => {
    const old = randomBytes(20 * MiB + 99);
    const rev = await seed('delta/stream.bin', old);
    const changed = Buffer.from(old);
    randomBytes(MiB).copy(changed, 2 * MiB);
    randomBytes(10).copy(changed, 19 * MiB + 5);
    const source = join(scratch, 'stream.bin');
    await writeFile(source, changed);
    const { connection, sent } = await counted();
    const entry = await uploadFile(connection, source, 'delta/stream.bin', { baseRev: rev, sha256: sha256(changed) });
    await connection.quit();
    expect(entry).toMatchObject({ size: changed.length, sha256: sha256(changed) });
    expect(sent()).toBeLessThan(3 * MiB);
    expect((await serverCopy('delta/stream.bin')).equals(changed)).toBe(true);
  });

  it('handles a file that grew or shrank against its base', async () => {
    const old = randomBytes(5 * MiB);
    const rev = await seed('delta/grow.bin', old);
    const grown = Buffer.concat([old, randomBytes(MiB + 5)]);
    const source = join(scratch, 'grow.bin');
    await writeFile(source, grown);
    const { connection, sent } = await counted();
    const entry = await uploadFile(connection, source, 'delta/grow.bin', { baseRev: rev });
    expect(sent()).toBeLessThan(2 * MiB);
    const shrunk = grown.subarray(0, 3 * MiB + 10);
    await writeFile(source, shrunk);
    const again = await uploadFile(connection, source, 'delta/grow.bin', { baseRev: entry.rev });
    await connection.quit();
    expect(again.sha256).toBe(sha256(shrunk));
    expect((await serverCopy('delta/grow.bin')).equals(shrunk)).toBe(true);
  });

  it('an unconditional upload over an existing file (fos upload) also sends only the change', async () => {
    const old = randomBytes(6 * MiB);
    await seed('delta/plain.bin', old);
    const changed = Buffer.from(old);
    randomBytes(1000).copy(changed, 4 * MiB + 3);
    const source = join(scratch, 'plain.bin');
    await writeFile(source, changed);
    const { connection, sent } = await counted();
    const entry = await uploadFile(connection, source, 'delta/plain.bin');
    await connection.quit();
    expect(entry.sha256).toBe(sha256(changed));
    expect(sent()).toBeLessThan(DELTA_BLOCK_BYTES + 64 * 1024);
    expect((await serverCopy('delta/plain.bin')).equals(changed)).toBe(true);
  });

  it('a stale hash from the caller (a file rewritten with its old size and mtime) still uploads the real bytes', async () => {
    const data = randomBytes(MiB + 1);
    const source = join(scratch, 'stale-hash.bin');
    await writeFile(source, data);
    const { connection } = await counted();
    const entry = await uploadFile(connection, source, 'delta/stale-hash.bin', { sha256: sha256(Buffer.from('an older version')) });
    await connection.quit();
    expect(entry.sha256).toBe(sha256(data));
    expect((await serverCopy('delta/stale-hash.bin')).equals(data)).toBe(true);
  });

  it('sends every byte when the feature is not negotiated (an older peer)', async () => {
    const old = randomBytes(3 * MiB);
    const rev = await seed('delta/old-peer.bin', old);
    const changed = Buffer.from(old);
    changed[MiB] = (changed[MiB] ?? 0) ^ 0xff;
    const source = join(scratch, 'old-peer.bin');
    await writeFile(source, changed);
    const { connection, sent } = await counted({ features: [FEATURE.uploads] });
    expect(connection.negotiated.features).not.toContain(FEATURE.delta);
    const entry = await uploadFile(connection, source, 'delta/old-peer.bin', { baseRev: rev });
    await connection.quit();
    expect(entry.sha256).toBe(sha256(changed));
    expect(sent()).toBeGreaterThan(changed.length);
    // A server asked without the feature refuses BLOCKS and ignores `delta`.
    const raw = await RawPeer.login(server.port, 'alice', PASSWORD);
    expect(errCode(await raw.request('BLOCKS', { path: 'delta/old-peer.bin', blockBytes: MiB }))).toBe('UNSUPPORTED');
    const ready = await raw.request('UPLOAD', { path: 'delta/x.bin', size: 1, sha256: sha256(Buffer.from('x')), mtimeMs: 1, delta: { rev: 1, blockBytes: MiB } });
    expect(ready.body).toEqual({ offset: 0 });
    await raw.destroy();
  });

  it('falls back safely when the base changed under the client: CONFLICT, nothing changes', async () => {
    const first = randomBytes(6 * MiB);
    const rev = await seed('delta/moved.bin', first);
    const second = randomBytes(6 * MiB);
    const other = join(scratch, 'moved-other.bin');
    await writeFile(other, second);
    const { connection: elsewhere } = await counted();
    await uploadFile(elsewhere, other, 'delta/moved.bin', { baseRev: rev });
    await elsewhere.quit();
    const mine = Buffer.from(first);
    mine[10] = (mine[10] ?? 0) ^ 1;
    const source = join(scratch, 'moved.bin');
    await writeFile(source, mine);
    const { connection } = await counted();
    await expect(uploadFile(connection, source, 'delta/moved.bin', { baseRev: rev })).rejects.toMatchObject({ code: 'FOS_ERR_STORE_CONFLICT' });
    await connection.quit();
    expect((await serverCopy('delta/moved.bin')).equals(second)).toBe(true);
  });

  it('ignores a delta against a stale revision, and refuses a COPY that does not fit', async () => {
    const data = randomBytes(2 * MiB);
    const rev = await seed('delta/raw.bin', data);
    const raw = await RawPeer.login(server.port, 'alice', PASSWORD, { features: ['delta'] });
    const blocks = await raw.request('BLOCKS', { path: 'delta/raw.bin', blockBytes: MiB });
    expect(blocks.body).toMatchObject({ rev, size: data.length, blockBytes: MiB });
    expect((blocks.body['blocks'] as string[]).length).toBe(2);
    const stale = await raw.request('UPLOAD', { path: 'delta/raw.bin', size: data.length, sha256: sha256(data), mtimeMs: 1, delta: { rev: rev - 1, blockBytes: MiB } });
    expect(stale.body).toEqual({ offset: 0 });
    await raw.destroy();
    const bad = await RawPeer.login(server.port, 'alice', PASSWORD, { features: ['delta'] });
    const ready = await bad.request('UPLOAD', { path: 'delta/raw.bin', size: data.length, sha256: sha256(data), mtimeMs: 1, delta: { rev, blockBytes: MiB } });
    expect(ready.body).toEqual({ offset: 0, delta: true });
    bad.send('COPY', { offset: MiB, length: MiB });
    expect(errCode(await bad.line())).toBe('BAD_REQUEST');
    await bad.closed;
    expect((await serverCopy('delta/raw.bin')).equals(data)).toBe(true);
  });
});
