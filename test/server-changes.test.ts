/**
 * Issue 3, "Done when" 4, and the operations on entries: a stale base revision gets
 * CONFLICT and changes nothing; overwritten and deleted versions are in the trash; MKDIR,
 * MOVE of files and whole folders, recursive DELETE, the change feed with tombstones,
 * WATCH notices and device tokens.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../src/protocol/types.js';
import { RawPeer, errCode, sha256 } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let peer: RawPeer;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'alice', PASSWORD);
  peer = await RawPeer.login(server.port, 'alice', PASSWORD);
});

afterAll(async () => {
  await peer?.destroy();
  await server?.dispose();
});

async function put(path: string, data: Buffer, baseRev?: number | null): Promise<Entry> {
  const result = await peer.upload(path, data, baseRev === undefined ? {} : { baseRev });
  if (result.reply.head !== 'OK') throw new Error(`upload failed: ${JSON.stringify(result.reply.body)}`);
  return result.reply.body['entry'] as Entry;
}

async function listAll(body: Record<string, unknown> = { recursive: true }): Promise<{ entries: Entry[]; rev: number }> {
  const listing = await peer.list(body);
  if (!('entries' in listing)) throw new Error(`LIST failed: ${JSON.stringify(listing.body)}`);
  return listing;
}

async function contentOf(path: string): Promise<Buffer> {
  const got = await peer.download(path);
  if (!('data' in got)) throw new Error(`download failed: ${JSON.stringify(got.body)}`);
  return got.data;
}

describe('conditional changes', () => {
  it('refuses an upload with a stale base revision before any byte moves, and changes nothing', async () => {
    const v1 = randomBytes(2000);
    const first = await put('c/doc.txt', v1, null);
    const v2 = randomBytes(3000);
    await put('c/doc.txt', v2, first.rev);
    const before = await listAll();
    const stale = await peer.request('UPLOAD', { path: 'c/doc.txt', size: 5, sha256: sha256(Buffer.from('hello')), mtimeMs: 1, baseRev: first.rev });
    expect(errCode(stale)).toBe('CONFLICT');
    expect(stale.body['rev']).toBe(first.rev + 1);
    expect(errCode(await peer.request('UPLOAD', { path: 'c/doc.txt', size: 5, sha256: sha256(Buffer.from('hello')), mtimeMs: 1, baseRev: null }))).toBe('CONFLICT');
    expect(await listAll()).toEqual(before);
    expect((await contentOf('c/doc.txt')).equals(v2)).toBe(true);
  });

  it('refuses at commit time when another upload landed during the transfer', async () => {
    const base = await put('race.txt', Buffer.from('base'));
    const winner = await RawPeer.login(server.port, 'alice', PASSWORD);
    const loserData = randomBytes(600_000);
    const ready = await peer.request('UPLOAD', { path: 'race.txt', size: loserData.length, sha256: sha256(loserData), mtimeMs: 1, baseRev: base.rev });
    expect(ready.head).toBe('READY TO RECEIVE FILE');
    const winnerData = Buffer.from('winner');
    expect((await winner.upload('race.txt', winnerData, { baseRev: base.rev })).reply.head).toBe('OK');
    await winner.quit();
    for (let at = 0; at < loserData.length; at += 200_000) peer.sendFrame(loserData.subarray(at, at + 200_000));
    peer.send('EOF');
    let reply = await peer.line();
    while (reply.head === 'CHUNK RECEIVED') reply = await peer.line();
    expect(errCode(reply)).toBe('CONFLICT');
    expect((await contentOf('race.txt')).equals(winnerData)).toBe(true);
    expect((await peer.entry('STAT', { path: 'race.txt' })).size).toBe(winnerData.length);
  });

  it('refuses DELETE and MOVE with a stale base revision', async () => {
    const first = await put('d.txt', Buffer.from('one'));
    await put('d.txt', Buffer.from('two'));
    const before = await listAll();
    expect(errCode(await peer.request('DELETE', { path: 'd.txt', baseRev: first.rev }))).toBe('CONFLICT');
    expect(errCode(await peer.request('MOVE', { from: 'd.txt', to: 'e.txt', baseRev: first.rev }))).toBe('CONFLICT');
    expect(await listAll()).toEqual(before);
  });
});

describe('trash', () => {
  it('keeps overwritten and deleted versions', async () => {
    const v1 = randomBytes(1234);
    const v2 = randomBytes(2345);
    const e1 = await put('t/kept.bin', v1);
    const e2 = await put('t/kept.bin', v2, e1.rev);
    const deleted = await peer.request('DELETE', { path: 't/kept.bin', baseRev: e2.rev });
    expect(deleted.head).toBe('OK');
    expect((deleted.body['entries'] as Entry[])[0]).toMatchObject({ path: 't/kept.bin', deleted: true });
    const trash = await peer.request('TRASH', { path: 't' });
    const items = trash.body['items'] as { path: string; sha256: string; rev: number; id: string }[];
    expect(items.map((i) => i.sha256).sort()).toEqual([sha256(v1), sha256(v2)].sort());
    const trashDir = join(server.dataDir, 'trash', 'alice');
    const kept = await Promise.all((await readdir(trashDir)).map(async (name) => sha256(await readFile(join(trashDir, name)))));
    expect(kept).toEqual(expect.arrayContaining([sha256(v1), sha256(v2)]));
  });
});

describe('folders, moves and the change feed', () => {
  it('creates folders, moves a folder whole, deletes recursively, and reports it all in the feed', async () => {
    const start = (await listAll()).rev;
    const dir = await peer.entry('MKDIR', { path: 'm/empty' });
    expect(dir).toMatchObject({ kind: 'dir', path: 'm/empty' });
    expect(errCode(await peer.request('MKDIR', { path: 'm/empty' }))).toBe('EXISTS');
    const data = randomBytes(5000);
    await put('m/sub/file.bin', data);
    const moved = await peer.request('MOVE', { from: 'm', to: 'n/renamed' });
    expect(moved.head).toBe('OK');
    const movedPaths = (moved.body['entries'] as Entry[]).map((e) => e.path).sort();
    expect(movedPaths).toEqual(['n/renamed', 'n/renamed/empty', 'n/renamed/sub', 'n/renamed/sub/file.bin']);
    expect((await contentOf('n/renamed/sub/file.bin')).equals(data)).toBe(true);
    expect(errCode(await peer.request('STAT', { path: 'm/sub/file.bin' }))).toBe('NOT_FOUND');
    const top = await listAll({ path: 'n/renamed' });
    expect(top.entries.map((e) => e.path)).toEqual(['n/renamed/empty', 'n/renamed/sub']);

    const feed = await listAll({ since: start });
    const tombstones = feed.entries.filter((e) => e.deleted).map((e) => e.path);
    expect(tombstones).toEqual(expect.arrayContaining(['m', 'm/empty', 'm/sub', 'm/sub/file.bin']));

    expect(errCode(await peer.request('DELETE', { path: 'n' }))).toBe('BAD_REQUEST');
    const removed = await peer.request('DELETE', { path: 'n', recursive: true });
    expect(removed.head).toBe('OK');
    expect((removed.body['entries'] as Entry[]).every((e) => e.deleted)).toBe(true);
    expect((await listAll()).entries.some((e) => e.path.startsWith('n'))).toBe(false);
    const trash = await peer.request('TRASH', { path: 'n' });
    expect((trash.body['items'] as { sha256: string }[]).map((i) => i.sha256)).toContain(sha256(data));
    const since = await listAll({ since: feed.rev });
    expect(since.entries.map((e) => e.path).sort()).toEqual(['n', 'n/renamed', 'n/renamed/empty', 'n/renamed/sub', 'n/renamed/sub/file.bin']);
    expect(since.entries.every((e) => e.deleted && e.rev === since.rev)).toBe(true);
  });

  it('refuses a move onto an existing path or into itself', async () => {
    await put('mv/a.txt', Buffer.from('a'));
    await put('mv/b.txt', Buffer.from('b'));
    expect(errCode(await peer.request('MOVE', { from: 'mv/a.txt', to: 'mv/b.txt' }))).toBe('EXISTS');
    expect(errCode(await peer.request('MOVE', { from: 'mv', to: 'mv/inner' }))).toBe('BAD_PATH');
    expect(errCode(await peer.request('UPLOAD', { path: 'mv/a.txt/child', size: 0, sha256: sha256(Buffer.alloc(0)), mtimeMs: 1 }))).toBe('EXISTS');
  });
});

describe('watch and tokens', () => {
  it('pushes a notice to a watching connection when a commit lands', async () => {
    const watcher = await RawPeer.login(server.port, 'alice', PASSWORD);
    const ok = await watcher.request('WATCH', {});
    expect(ok.head).toBe('OK');
    const rev = ok.body['rev'] as number;
    const entry = await put('w/new.txt', Buffer.from('news'));
    const notice = await watcher.line();
    expect(notice.head).toBe('NOTICE');
    expect(notice.body).toMatchObject({ rev: entry.rev });
    expect(notice.body['paths']).toContain('w/new.txt');
    expect(entry.rev).toBeGreaterThan(rev);
    const late = await RawPeer.login(server.port, 'alice', PASSWORD);
    expect((await late.request('WATCH', { since: rev })).head).toBe('OK');
    expect((await late.line()).body).toMatchObject({ rev: entry.rev });
    await late.quit();
    await watcher.quit();
  });

  it('issues, lists and revokes device tokens, and a token logs in until revoked', async () => {
    const issued = await peer.request('TOKEN', { device: 'laptop' });
    expect(issued.head).toBe('OK');
    const token = issued.body['token'] as string;
    expect(token.startsWith('fos_')).toBe(true);
    const tokens = await peer.request('TOKENS');
    expect((tokens.body['tokens'] as { id: string; device: string }[]).map((t) => t.device)).toContain('laptop');
    const byToken = await RawPeer.connect(server.port);
    expect((await byToken.request('HELLO', { version: 2 })).head).toBe('HELLO');
    expect((await byToken.request('AUTH', { token })).body).toEqual({ user: 'alice' });
    expect((await byToken.request('REVOKE')).head).toBe('OK');
    await byToken.quit();
    const refused = await RawPeer.connect(server.port);
    await refused.request('HELLO', { version: 2 });
    expect(errCode(await refused.request('AUTH', { token }))).toBe('AUTH_FAILED');
    await refused.closed;
  });
});
