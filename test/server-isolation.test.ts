/**
 * Issue 3, "Done when" 5: users are isolated, and every hostile path of the shared corpus
 * is refused with BAD_PATH on every operation, with nothing written anywhere (the data
 * folder and its parent are compared before and after). A symbolic link planted in a
 * user's folder is never followed.
 */
import { lstat, mkdtemp, readdir, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../src/protocol/types.js';
import { HOSTILE_PATHS } from './fixtures/hostile-paths.js';
import { RawPeer, errCode, sha256 } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
let outer: string;
let server: TestServer;
let alice: RawPeer;
let bob: RawPeer;

beforeAll(async () => {
  // The data folder sits alone in a folder of its own, so "nothing written outside" can be checked.
  outer = await mkdtemp(join(tmpdir(), 'fos-isolation-'));
  server = await startServer({ dataDir: join(outer, 'data') });
  await addUser(server.dataDir, 'alice', PASSWORD);
  await addUser(server.dataDir, 'bob', PASSWORD);
  alice = await RawPeer.login(server.port, 'alice', PASSWORD);
  bob = await RawPeer.login(server.port, 'bob', PASSWORD);
  const secret = await bob.upload('private/secret.txt', Buffer.from('bob only'));
  expect(secret.reply.head).toBe('OK');
  expect((await alice.upload('mine.txt', Buffer.from('alice'))).reply.head).toBe('OK');
});

afterAll(async () => {
  await alice?.destroy();
  await bob?.destroy();
  await server?.dispose();
  if (outer !== undefined) await rm(outer, { recursive: true, force: true });
});

/** Every name (with size and mtime) under a folder, recursively; the database files aside. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const dirent of await readdir(dir, { withFileTypes: true })) {
      const rel = `${prefix}/${dirent.name}`;
      if (dirent.name.startsWith('fos.db')) continue;
      const info = await lstat(join(dir, dirent.name));
      out.push(`${rel} ${info.isDirectory() ? 'dir' : info.size} ${info.mtimeMs}`);
      if (dirent.isDirectory()) await walk(join(dir, dirent.name), rel);
    }
  };
  await walk(root, '');
  return out.sort();
}

/** Every request that takes a path, with `path` in the slot under test. */
function requestsFor(path: string): [string, Record<string, unknown>][] {
  const empty = sha256(Buffer.alloc(0));
  return [
    ['UPLOAD', { path, size: 0, sha256: empty, mtimeMs: 1 }],
    ['DOWNLOAD', { path }],
    ['PREVIEW', { path }],
    ['DELETE', { path, recursive: true }],
    ['MKDIR', { path }],
    ['MOVE', { from: path, to: 'moved' }],
    ['MOVE', { from: 'mine.txt', to: path }],
    ['STAT', { path }],
    ['LIST', { path }],
    ['LIST', { path, since: 0 }],
    ['TRASH', { path }],
    ['RESTORE', { path, at: Date.now() - 1_000 }],
  ];
}

/** The held-deletion requests (issue 11), with `path` as the folder and as an item. */
function heldRequestsFor(path: string): [string, Record<string, unknown>][] {
  const hold = { device: 'laptop', side: 'remote', part: 0, last: true };
  return [
    ['HOLD', { ...hold, folder: path, items: [] }],
    ['HOLD', { ...hold, folder: '', items: [{ path, kind: 'file', rev: 1, size: 0, sha256: '' }] }],
    ['HELD', { folder: path }],
  ];
}

describe('isolation', () => {
  it('refuses at least 100 hostile paths on every operation and writes nothing anywhere', async () => {
    expect(HOSTILE_PATHS.length).toBeGreaterThanOrEqual(100);
    const before = await tree(outer);
    const accepted: string[] = [];
    for (const { path, family } of HOSTILE_PATHS) {
      for (const [head, body] of [...requestsFor(path), ...heldRequestsFor(path)]) {
        alice.send(head, body);
        const reply = await alice.line();
        if (errCode(reply) !== 'BAD_PATH') accepted.push(`${family} ${head} ${JSON.stringify(path).slice(0, 60)} -> ${reply.head} ${JSON.stringify(reply.body).slice(0, 80)}`);
        // A refused LIST answers ERR alone; nothing else is pending on the connection.
      }
    }
    expect(accepted).toEqual([]);
    expect(await tree(outer)).toEqual(before);
    expect((await alice.entry('STAT', { path: 'mine.txt' })).size).toBe(5);
  });

  it("never shows, reads, changes or deletes another user's files", async () => {
    const listing = await alice.list({ recursive: true });
    if (!('entries' in listing)) throw new Error('LIST failed');
    expect(listing.entries.map((e: Entry) => e.path)).toEqual(['mine.txt']);
    for (const path of ['private/secret.txt', 'bob/private/secret.txt', 'uploads/bob/private/secret.txt']) {
      expect(errCode(await alice.request('STAT', { path }))).toBe('NOT_FOUND');
      const got = await alice.download(path);
      expect('data' in got ? 'data' : errCode(got)).toBe('NOT_FOUND');
      expect(errCode(await alice.request('DELETE', { path }))).toBe('NOT_FOUND');
      expect(errCode(await alice.request('MOVE', { from: path, to: 'stolen' }))).toBe('NOT_FOUND');
    }
    for (const path of ['../bob/private/secret.txt', '../../uploads/bob/private/secret.txt']) {
      expect(errCode(await alice.request('STAT', { path }))).toBe('BAD_PATH');
    }
    const feed = await alice.list({ since: 0 });
    if (!('entries' in feed)) throw new Error('LIST failed');
    expect(feed.entries.every((e: Entry) => e.path === 'mine.txt')).toBe(true);
    expect((await bob.download('private/secret.txt')) as { data?: Buffer }).toMatchObject({ data: Buffer.from('bob only') });
  });

  it('never follows a symbolic link planted in a user folder', async () => {
    const aliceRoot = join(server.dataDir, 'uploads', 'alice');
    const bobRoot = join(server.dataDir, 'uploads', 'bob');
    await symlink(bobRoot, join(aliceRoot, 'link'));
    // The link is not an entry, so reads find nothing and writes are refused.
    for (const [head, body] of requestsFor('link/private/secret.txt')) {
      alice.send(head, body);
      const reply = await alice.line();
      // The change feed, the trash and a restore of a path that never had an entry are simply empty.
      const isEmpty =
        (reply.head === 'EOF' && body['since'] !== undefined) ||
        (reply.head === 'OK' && head === 'TRASH' && (reply.body['items'] as unknown[]).length === 0) ||
        (reply.head === 'OK' && head === 'RESTORE' && reply.body['rev'] === null && reply.body['unchanged'] === 0);
      const outcome = isEmpty ? 'NOT_FOUND' : errCode(reply);
      expect(['BAD_PATH', 'NOT_FOUND'], head).toContain(outcome);
    }
    expect(errCode((await alice.upload('link/evil.txt', Buffer.from('evil'))).reply)).toBe('BAD_PATH');
    expect(errCode(await alice.request('MKDIR', { path: 'link/evil' }))).toBe('BAD_PATH');
    expect(errCode(await alice.request('MOVE', { from: 'mine.txt', to: 'link/mine.txt' }))).toBe('BAD_PATH');

    // A committed folder swapped for a link on disk: its files are neither read nor written.
    expect((await alice.upload('swapped/inner.txt', Buffer.from('inner'))).reply.head).toBe('OK');
    await rename(join(aliceRoot, 'swapped'), join(aliceRoot, 'swapped-away'));
    await symlink(join(bobRoot, 'private'), join(aliceRoot, 'swapped'));
    const read = await alice.download('swapped/inner.txt');
    expect('data' in read ? 'data' : errCode(read)).toBe('BAD_PATH');
    expect(errCode((await alice.upload('swapped/secret.txt', Buffer.from('overwrite'))).reply)).toBe('BAD_PATH');
    expect(errCode(await alice.request('DELETE', { path: 'swapped', recursive: true }))).toBe('BAD_PATH');
    expect((await readdir(bobRoot, { recursive: true })).sort()).toEqual(['private', 'private/secret.txt']);
    expect((await bob.download('private/secret.txt')) as { data?: Buffer }).toMatchObject({ data: Buffer.from('bob only') });
  });
});
