/**
 * Quotas and rate limits against a real `fos server` (issue 7, "done when" 6): byte and
 * file quotas refuse uploads with QUOTA before any byte is stored, an upload that sends
 * more than it declared is cut with nothing kept, bandwidth per user holds within 10 %,
 * and the operation rate limit answers RATE_LIMITED while the connection stays usable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosClient } from '../src/client/index.js';
import { FosError } from '../src/errors.js';
import { GREETING } from '../src/protocol/constants.js';
import { HELLO_LINE, openSocket, readUntil } from '../test-support/raw-peer.js';
import { addUser, runFos, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'a quota-bound password';
const MIB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
let work = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fos-quota-work-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serverWith(args: readonly string[], quota: readonly string[] = []): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fos-quota-'));
  if (quota.length === 0) await addUser(dataDir, 'bob', PASSWORD);
  else {
    const result = await runFos(['user', 'add', 'bob', '--data', dataDir, '--password-stdin', '--cost', '4', ...quota], `${PASSWORD}\n`);
    expect(result.code, result.stderr).toBe(0);
  }
  const server = await startServer({ dataDir, args });
  cleanups.push(async () => {
    await server.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });
  return server;
}

function connect(server: TestServer): Promise<FosClient> {
  return FosClient.connect({
    address: { host: server.host, port: server.port },
    credentials: { kind: 'password', user: 'bob', password: PASSWORD },
  });
}

async function localFile(bytes: number): Promise<string> {
  const path = join(work, `f-${randomBytes(6).toString('hex')}`);
  await writeFile(path, randomBytes(bytes));
  return path;
}

async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    // A folder that was never created holds no files.
    return [];
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return err instanceof FosError ? err.code : String(err);
  }
}

describe('quotas', () => {
  it('refuses uploads over the byte and file quotas with QUOTA, keeping nothing of them', async () => {
    const server = await serverWith([], ['--quota-bytes', '1000000', '--quota-files', '3']);
    const client = await connect(server);
    try {
      expect(await codeOf(client.upload(await localFile(600_000), 'a.bin'))).toBe('ok');
      expect(await codeOf(client.upload(await localFile(500_000), 'b.bin'))).toBe('FOS_ERR_STORE_QUOTA');
      // Exactly up to the quota is allowed.
      expect(await codeOf(client.upload(await localFile(400_000), 'b.bin'))).toBe('ok');
      expect(await codeOf(client.upload(await localFile(1), 'c.bin'))).toBe('FOS_ERR_STORE_QUOTA');
      // Replacing a file counts the new size, not both.
      expect(await codeOf(client.upload(await localFile(300_000), 'a.bin'))).toBe('ok');
      expect(await codeOf(client.upload(await localFile(10), 'c.bin'))).toBe('ok');
      // Three files: a fourth is refused even though bytes remain.
      expect(await codeOf(client.upload(await localFile(10), 'd.bin'))).toBe('FOS_ERR_STORE_QUOTA');
      const listing = await client.list();
      expect(listing.entries.map((e) => e.path).sort()).toEqual(['a.bin', 'b.bin', 'c.bin']);
      const used = listing.entries.reduce((sum, e) => sum + e.size, 0);
      expect(used).toBeLessThanOrEqual(1_000_000);
    } finally {
      await client.quit();
    }
    const stored = await filesUnder(join(server.dataDir, 'uploads'));
    expect(stored.map((p) => p.split('/').pop()).sort()).toEqual(['a.bin', 'b.bin', 'c.bin']);
    expect(await filesUnder(join(server.dataDir, 'tmp'))).toEqual([]);
  });

  it('cuts an upload that streams more than it declared, and keeps nothing', async () => {
    const server = await serverWith([], ['--quota-bytes', '100000']);
    const socket = await openSocket({ host: server.host, port: server.port });
    cleanups.push(async () => {
      socket.destroy();
    });
    await readUntil(socket, (t) => t.startsWith(GREETING));
    socket.write(HELLO_LINE);
    socket.write(`AUTH ${JSON.stringify({ user: 'bob', password: PASSWORD })}\n`);
    await readUntil(socket, (t) => t.includes('AUTH SUCCESSFUL'));
    const declared = randomBytes(1000);
    const sha256 = createHash('sha256').update(declared).digest('hex');
    socket.write(`UPLOAD ${JSON.stringify({ path: 'liar.bin', size: 1000, sha256, mtimeMs: Date.now() })}\n`);
    await readUntil(socket, (t) => t.includes('READY TO RECEIVE FILE'));
    const reply = readUntil(socket, (t) => t.includes('ERR'));
    // 200 KB of frames: past the declared size and past the quota.
    for (let i = 0; i < 50; i += 1) {
      const payload = randomBytes(4000);
      const header = Buffer.alloc(6);
      header[0] = 0xfd;
      header.writeUInt32BE(payload.length, 2);
      if (socket.writable) socket.write(Buffer.concat([header, payload]));
    }
    expect(await reply).toMatch(/ERR \{"code":"TOO_LARGE"/);
    socket.destroy();
    const client = await connect(server);
    try {
      expect((await client.list()).entries).toEqual([]);
    } finally {
      await client.quit();
    }
    expect(await filesUnder(join(server.dataDir, 'uploads'))).toEqual([]);
    expect(await filesUnder(join(server.dataDir, 'tmp'))).toEqual([]);
  });
});

describe('bandwidth per user', () => {
  const RATE = MIB;

  it('holds uploads and downloads to the configured rate within 10 %, also across parallel transfers', async () => {
    const server = await serverWith(['--upload-rate', '1M', '--download-rate', '1M']);
    const client = await connect(server);
    const second = await connect(server);
    try {
      const big = await localFile(3 * MIB);
      let started = performance.now();
      await client.upload(big, 'big.bin');
      let seconds = (performance.now() - started) / 1000;
      expect(3 * MIB / seconds).toBeLessThanOrEqual(RATE * 1.1);

      started = performance.now();
      await client.download('big.bin', join(work, 'big.back'));
      seconds = (performance.now() - started) / 1000;
      expect(3 * MIB / seconds).toBeLessThanOrEqual(RATE * 1.1);

      // Two connections of one user share one budget.
      const halves = [await localFile(1.5 * MIB), await localFile(1.5 * MIB)];
      started = performance.now();
      await Promise.all([client.upload(halves[0] ?? '', 'h1.bin'), second.upload(halves[1] ?? '', 'h2.bin')]);
      seconds = (performance.now() - started) / 1000;
      expect(3 * MIB / seconds).toBeLessThanOrEqual(RATE * 1.1);
    } finally {
      await client.quit();
      await second.quit();
    }
  });
});

describe('operations per user', () => {
  it('answers RATE_LIMITED with a retry time past the limit, and the connection goes on', async () => {
    const server = await serverWith(['--ops-per-second', '10']);
    const client = await connect(server);
    try {
      await client.mkdir('d');
      const codes: string[] = [];
      let retryMs = 0;
      const started = Date.now();
      for (let i = 0; i < 60; i += 1) {
        try {
          await client.stat('d');
          codes.push('ok');
        } catch (err) {
          expect(err).toMatchObject({ code: 'FOS_ERR_NET_RATE_LIMITED' });
          retryMs = Math.max(retryMs, Number((err as FosError).details['retryMs']));
          codes.push('limited');
        }
      }
      // Fixed one-second windows: no more than 10 per window the burst touched.
      const windows = Math.ceil((Date.now() - started) / 1000) + 1;
      expect(codes.filter((c) => c === 'ok').length).toBeLessThanOrEqual(10 * windows);
      expect(codes.filter((c) => c === 'limited').length).toBeGreaterThan(0);
      expect(retryMs).toBeGreaterThan(0);
      expect(retryMs).toBeLessThanOrEqual(1000);
      await new Promise((resolve) => setTimeout(resolve, retryMs + 50));
      expect((await client.stat('d')).path).toBe('d');
    } finally {
      await client.quit();
    }
  });
});
