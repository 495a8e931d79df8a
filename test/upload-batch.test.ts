/**
 * UPLOADS, many small files in one request (issue 8, W2), against a real server: the files
 * commit under one revision with their own checks (a wrong hash, a stale base revision, a
 * path twice refuse that file alone), HELLO negotiates the feature, an older client is
 * answered without it, and a client talking to a server without it falls back to UPLOAD.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosClient } from '../src/client/index.js';
import type { BatchUploadFile } from '../src/client/index.js';
import { FEATURE, REPLY } from '../src/protocol/constants.js';
import { RawPeer, sha256 } from './support/fos2.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'fos-upload-batch-'));
  await addUser(server.dataDir, 'bea', PASSWORD);
});

afterAll(async () => {
  await server?.dispose();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function connect(features?: readonly string[]): Promise<FosClient> {
  return FosClient.connect({
    address: { host: server.host, port: server.port },
    credentials: { kind: 'password', user: 'bea', password: PASSWORD },
    ...(features === undefined ? {} : { features }),
  });
}

async function localFiles(prefix: string, count: number): Promise<BatchUploadFile[]> {
  const files: BatchUploadFile[] = [];
  for (let i = 0; i < count; i++) {
    const localPath = join(dir, `${prefix}-${i}.txt`);
    await writeFile(localPath, `${prefix} file ${i}\n`.repeat(i + 1));
    files.push({ localPath, remotePath: `${prefix}/d${i % 3}/f${i}.txt`, baseRev: null, mtimeMs: 1_700_000_000_000 + i });
  }
  return files;
}

function operations(): string[] {
  return server.logRecords().flatMap((r) => (r['msg'] === 'operation' && typeof r['op'] === 'string' ? [r['op']] : []));
}

/** The operations logged after the first `from`, once `count` of `op` are among them (the log trails the replies). */
async function logged(from: number, op: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ops = operations().slice(from);
    if (ops.filter((o) => o === op).length >= count || Date.now() > deadline) return ops;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('UPLOADS', () => {
  it('negotiates the feature and commits a batch under one revision, each file with its own entry', async () => {
    const client = await connect();
    try {
      expect(client.negotiated.features).toContain(FEATURE.uploads);
      const files = await localFiles('one', 40);
      const before = operations().length;
      const results = await client.uploadBatch(files);
      expect((await logged(before, 'uploads', 1)).filter((op) => op === 'uploads')).toHaveLength(1);
      const revs = new Set<number>();
      results.forEach((result, i) => {
        if (result.kind !== 'committed') throw result.error;
        expect(result.entry).toMatchObject({ path: `one/d${i % 3}/f${i}.txt`, kind: 'file', mtimeMs: 1_700_000_000_000 + i, deleted: false });
        revs.add(result.entry.rev);
      });
      expect(revs.size).toBe(1);
      const listing = await client.list('one', { recursive: true });
      expect(listing.entries.filter((e) => e.kind === 'file')).toHaveLength(40);
      expect(listing.entries.filter((e) => e.kind === 'dir').map((e) => e.path).sort()).toEqual(['one/d0', 'one/d1', 'one/d2']);
      const [first] = files;
      if (first === undefined) throw new Error('no file');
      // The path is taken now: baseRev null is stale; its current revision is not.
      expect(await client.uploadBatch([first])).toMatchObject([{ kind: 'failed', error: { code: 'FOS_ERR_STORE_CONFLICT' } }]);
      const current = (results[0] as { entry: { rev: number } }).entry.rev;
      expect(await client.uploadBatch([{ ...first, baseRev: current }])).toMatchObject([{ kind: 'committed' }]);
    } finally {
      await client.close();
    }
  });

  it('refuses a file whose bytes do not match its hash, and a path twice, and commits the others', async () => {
    const peer = await RawPeer.login(server.port, 'bea', PASSWORD, { features: [FEATURE.uploads] });
    try {
      const good = Buffer.from('good bytes');
      const bad = Buffer.from('bytes that lie');
      const ready = await peer.request('UPLOADS', {
        files: [
          { path: 'raw/good.txt', size: good.length, sha256: sha256(good), mtimeMs: 5 },
          { path: 'raw/bad.txt', size: bad.length, sha256: sha256(Buffer.from('other')), mtimeMs: 5 },
          { path: 'raw/good.txt', size: good.length, sha256: sha256(good), mtimeMs: 5 },
          { path: 'raw/empty.txt', size: 0, sha256: sha256(Buffer.alloc(0)), mtimeMs: 5 },
        ],
      });
      expect(ready.head).toBe(REPLY.ready);
      peer.sendFrame(good);
      peer.sendFrame(bad);
      peer.sendFrame(good);
      peer.send(REPLY.eof);
      const reply = await peer.line();
      expect(reply.head).toBe(REPLY.ok);
      const results = reply.body['results'] as { entry?: { path: string }; error?: { code: string } }[];
      expect(results.map((r) => r.entry?.path ?? r.error?.code)).toEqual(['raw/good.txt', 'CHECKSUM', 'BAD_REQUEST', 'raw/empty.txt']);
      const listing = await peer.list({ path: 'raw', recursive: true });
      if (!('entries' in listing)) throw new Error(`LIST failed: ${JSON.stringify(listing)}`);
      expect(listing.entries.map((e) => e.path).sort()).toEqual(['raw/empty.txt', 'raw/good.txt']);
    } finally {
      peer.socket.destroy();
    }
  });

  it('ends the connection when a frame carries more than the file it belongs to', async () => {
    const peer = await RawPeer.login(server.port, 'bea', PASSWORD, { features: [FEATURE.uploads] });
    const data = Buffer.from('four');
    const ready = await peer.request('UPLOADS', { files: [{ path: 'over/a.txt', size: 2, sha256: sha256(data), mtimeMs: 1 }] });
    expect(ready.head).toBe(REPLY.ready);
    peer.sendFrame(data);
    const reply = await peer.line();
    expect(reply).toMatchObject({ head: REPLY.err, body: { code: 'BAD_REQUEST' } });
    await peer.closed;
  });

  it('answers an older client (no features in HELLO) without any', async () => {
    const peer = await RawPeer.connect(server.port);
    try {
      const hello = await peer.request('HELLO', { version: 2, client: 'old' });
      expect(hello.head).toBe(REPLY.hello);
      expect(hello.body['features']).toEqual([]);
    } finally {
      peer.socket.destroy();
    }
  });

  it('falls back to one UPLOAD per file when the feature was not negotiated', async () => {
    const client = await connect([]);
    try {
      expect(client.negotiated.features).toEqual([]);
      const before = operations().length;
      const results = await client.uploadBatch(await localFiles('old', 3));
      expect(results.map((r) => r.kind)).toEqual(['committed', 'committed', 'committed']);
      const ops = await logged(before, 'upload', 3);
      expect(ops.filter((op) => op === 'upload')).toHaveLength(3);
      expect(ops).not.toContain('uploads');
    } finally {
      await client.close();
    }
  });
});
