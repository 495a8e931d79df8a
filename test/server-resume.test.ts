/**
 * Issue 3, "Done when" 2: an interrupted upload never shows under its name, and the next
 * upload resumes from the server's offset, both when the client dies and when the server
 * is killed with SIGKILL and restarted (disk and database then agree).
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../src/protocol/types.js';
import { RawPeer, errCode, sha256 } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const SIZE = 8 * 1024 * 1024 + 123;
let server: TestServer | undefined;
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) await peer.destroy();
  await server?.dispose();
  server = undefined;
});

async function login(s: TestServer): Promise<RawPeer> {
  const peer = await RawPeer.login(s.port, 'alice', PASSWORD);
  peers.push(peer);
  return peer;
}

/** Every file under the user's root on disk, with its SHA-256. */
async function diskFiles(s: TestServer): Promise<Map<string, string>> {
  const root = join(s.dataDir, 'uploads', 'alice');
  const out = new Map<string, string>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const dirent of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix === '' ? dirent.name : `${prefix}/${dirent.name}`;
      if (dirent.isDirectory()) await walk(join(dir, dirent.name), rel);
      else out.set(rel, sha256(await readFile(join(dir, dirent.name))));
    }
  };
  await walk(root, '');
  return out;
}

/** Files the store lists, with their SHA-256. */
async function listedFiles(peer: RawPeer): Promise<Map<string, string>> {
  const listing = await peer.list({ recursive: true });
  if (!('entries' in listing)) throw new Error(`LIST failed: ${JSON.stringify(listing.body)}`);
  return new Map(listing.entries.filter((e: Entry) => e.kind === 'file').map((e: Entry) => [e.path, e.sha256]));
}

async function expectAbsent(s: TestServer, peer: RawPeer, path: string): Promise<void> {
  await expect(stat(join(s.dataDir, 'uploads', 'alice', path))).rejects.toThrow();
  expect(errCode(await peer.request('STAT', { path }))).toBe('NOT_FOUND');
  expect((await listedFiles(peer)).has(path)).toBe(false);
}

async function expectDownload(peer: RawPeer, path: string, data: Buffer): Promise<void> {
  const got = await peer.download(path);
  if (!('data' in got)) throw new Error(`download failed: ${JSON.stringify(got.body)}`);
  expect(got.data.equals(data)).toBe(true);
}

describe('interrupted uploads', () => {
  it('a client killed halfway leaves nothing under the name, and the next upload resumes', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const data = randomBytes(SIZE);
    const first = await login(server);
    const cut = await first.upload('docs/big.bin', data, { stopAfter: SIZE / 2 });
    expect(cut.reply.head).toBe('CHUNK RECEIVED');
    await first.destroy();

    const second = await login(server);
    await expectAbsent(server, second, 'docs/big.bin');
    const resumed = await second.upload('docs/big.bin', data);
    expect(resumed.reply.head, JSON.stringify(resumed.reply.body)).toBe('OK');
    expect(resumed.offset).toBeGreaterThanOrEqual(SIZE / 2);
    expect(resumed.sent).toBeLessThan(SIZE);
    expect(resumed.offset! + resumed.sent).toBe(SIZE);
    await expectDownload(second, 'docs/big.bin', data);
    expect(await readdir(join(server.dataDir, 'tmp', 'alice'))).toEqual([]);
  });

  it('a different file under the same name does not resume from the old bytes', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const first = await login(server);
    await first.upload('x.bin', randomBytes(SIZE), { stopAfter: 1024 * 1024 });
    await first.destroy();
    const other = randomBytes(SIZE);
    const second = await login(server);
    const result = await second.upload('x.bin', other);
    expect(result.offset).toBe(0);
    expect(result.reply.head).toBe('OK');
    await expectDownload(second, 'x.bin', other);
  });

  it('a server killed with SIGKILL mid-upload restarts with disk and database in agreement, and the upload resumes', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const kept = randomBytes(1000);
    const data = randomBytes(SIZE);
    const first = await login(server);
    expect((await first.upload('kept.txt', kept)).reply.head).toBe('OK');
    const cut = await first.upload('big.bin', data, { stopAfter: SIZE / 2 });
    expect(cut.reply.head).toBe('CHUNK RECEIVED');
    await server.kill();
    await first.destroy();

    await server.restart();
    const second = await login(server);
    const listed = await listedFiles(second);
    expect(listed).toEqual(await diskFiles(server));
    expect([...listed.keys()]).toEqual(['kept.txt']);
    await expectAbsent(server, second, 'big.bin');

    const resumed = await second.upload('big.bin', data);
    expect(resumed.reply.head, JSON.stringify(resumed.reply.body)).toBe('OK');
    expect(resumed.offset).toBeGreaterThanOrEqual(SIZE / 2);
    expect(resumed.sent).toBeLessThan(SIZE);
    await expectDownload(second, 'big.bin', data);
    await expectDownload(second, 'kept.txt', kept);
    expect(await listedFiles(second)).toEqual(await diskFiles(server));
  });

  it('an upload whose bytes do not match the declared SHA-256 is refused and nothing is kept', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const peer = await login(server);
    const data = randomBytes(300_000);
    const result = await peer.upload('bad.bin', data, { sha256: sha256(Buffer.from('something else')) });
    expect(errCode(result.reply)).toBe('CHECKSUM');
    await expectAbsent(server, peer, 'bad.bin');
    expect(await readdir(join(server.dataDir, 'tmp', 'alice'))).toEqual([]);
    const ok = await peer.upload('bad.bin', data);
    expect(ok.offset).toBe(0);
    expect(ok.reply.head).toBe('OK');
  });

  it('more bytes than declared get TOO_LARGE, nothing is kept, and the connection ends', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const peer = await login(server);
    const data = randomBytes(100_000);
    const result = await peer.upload('big.bin', data, { size: 50_000 });
    expect(errCode(result.reply)).toBe('TOO_LARGE');
    await peer.closed;
    const again = await login(server);
    await expectAbsent(server, again, 'big.bin');
    expect(await readdir(join(server.dataDir, 'tmp', 'alice'))).toEqual([]);
  });
});

describe('uploads whose SHA-256 comes with EOF (feature eof-hash)', () => {
  it('commits when EOF names the hash of the bytes, and refuses a wrong one keeping nothing', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const peer = await login(server);
    const data = randomBytes(SIZE);
    const ok = await peer.upload('late.bin', data, { eofSha256: true });
    expect(ok.reply.head, JSON.stringify(ok.reply.body)).toBe('OK');
    expect((ok.reply.body['entry'] as Entry).sha256).toBe(sha256(data));
    await expectDownload(peer, 'late.bin', data);

    const wrong = await peer.upload('wrong.bin', data, { eofSha256: sha256(Buffer.from('something else')) });
    expect(errCode(wrong.reply)).toBe('CHECKSUM');
    await expectAbsent(server, peer, 'wrong.bin');
    expect(await readdir(join(server.dataDir, 'tmp', 'alice'))).toEqual([]);
  });

  it('an EOF that names no hash is refused, the bytes stay, and the upload resumes with nothing left to send', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const peer = await login(server);
    const data = randomBytes(300_000);
    const bare = await peer.upload('bare.bin', data, { eofSha256: false });
    expect(errCode(bare.reply)).toBe('BAD_REQUEST');
    await expectAbsent(server, peer, 'bare.bin');
    const again = await peer.upload('bare.bin', data, { eofSha256: true });
    expect(again.reply.head, JSON.stringify(again.reply.body)).toBe('OK');
    expect(again.offset).toBe(data.length);
    expect(again.sent).toBe(0);
  });

  it('resumes a cut upload of the same file (same size and mtime), and not one whose mtime moved', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const data = randomBytes(SIZE);
    const first = await login(server);
    await first.upload('big.bin', data, { eofSha256: true, stopAfter: SIZE / 2 });
    await first.destroy();

    const second = await login(server);
    const moved = await second.upload('big.bin', data, { eofSha256: true, mtimeMs: 1_764_000_000_001, stopAfter: 1 });
    expect(moved.offset).toBe(0);
    await second.destroy();

    const third = await login(server);
    const resumed = await third.upload('big.bin', data, { eofSha256: true });
    expect(resumed.reply.head, JSON.stringify(resumed.reply.body)).toBe('OK');
    expect(resumed.offset).toBeGreaterThanOrEqual(SIZE / 2);
    expect(resumed.sent).toBeLessThan(SIZE);
    await expectDownload(third, 'big.bin', data);
  });
});
