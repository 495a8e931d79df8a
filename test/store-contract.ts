/**
 * The Store contract: what every metadata store (SQLite, PostgreSQL) must do, as one
 * reusable vitest suite. A store's test file calls `describeStoreContract` with a factory
 * that gives a fresh, migrated, empty store and a cleanup.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FosError } from '../src/errors.js';
import type { FosErrorCode } from '../src/errors.js';
import { deletionSetKey } from '../src/protocol/deletion-batch.js';
import type { DeletionBatch, DeletionItem, DeletionSide, Entry } from '../src/protocol/types.js';
import type { Change, Store, TokenRecord, TrashRecord } from '../src/store/types.js';

/** A fresh store for one test, and how to dispose of it. */
export interface StoreFixture {
  readonly store: Store;
  readonly cleanup: () => Promise<void>;
}

const T0 = 1_700_000_000_000;
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

/** A live file change. */
export function file(path: string, size = 1, sha256 = SHA_A, mtimeMs = T0): Change {
  return { path, kind: 'file', size, mtimeMs, sha256, deleted: false };
}

/** A live folder change. */
export function dir(path: string): Change {
  return { path, kind: 'dir', size: 0, mtimeMs: T0, sha256: '', deleted: false };
}

/** A deletion of a file. */
export function gone(path: string, kind: 'file' | 'dir' = 'file'): Change {
  return { path, kind, size: 0, mtimeMs: T0, sha256: '', deleted: true };
}

function token(user: string, id: string, createdAt = T0): TokenRecord {
  return { id, user, device: `${id}-device`, tokenHash: `hash-${id}`, createdAt, lastUsedAt: null };
}

function trash(user: string, id: string, path: string, trashedAt: number, validFrom = T0): TrashRecord {
  return {
    id,
    user,
    path,
    size: 3,
    mtimeMs: T0,
    sha256: SHA_A,
    rev: 1,
    validFrom,
    trashedAt,
    storedAs: `${user}/${id}`,
  };
}

/** A held item of a file. */
function heldFile(path: string, rev = 1, size = 3): DeletionItem {
  return { path, kind: 'file', rev, size, sha256: SHA_A };
}

/** A held batch over `items`, with the count, bytes and key they make. */
function batch(id: string, items: readonly DeletionItem[], fields: Partial<DeletionBatch> & { side?: DeletionSide } = {}): DeletionBatch {
  return {
    id,
    device: 'laptop',
    folder: '',
    side: 'remote',
    state: 'held',
    createdAt: T0,
    resolvedAt: null,
    count: items.length,
    bytes: items.reduce((n, i) => n + (i.kind === 'file' ? i.size : 0), 0),
    commitRev: null,
    successor: null,
    itemsKey: deletionSetKey(items),
    ...fields,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<FosErrorCode | 'resolved'> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FosError) return err.code;
    throw err;
  }
  return 'resolved';
}

/** Byte order of UTF-8 strings, the order stores list paths in. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function paths(entries: readonly Entry[]): string[] {
  return entries.map((e) => e.path);
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Registers the Store contract tests under `describe(name)`. `makeStore` is called before
 * every test and must return a migrated, empty store.
 */
export function describeStoreContract(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      await store.createUser('alice', 'hash-a', T0);
      await store.createUser('bob', 'hash-b', T0 + 1);
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('migrate and close', () => {
      it('migrate is idempotent and keeps data', async () => {
        await store.migrate();
        await store.migrate();
        expect((await store.getUser('alice'))?.passwordHash).toBe('hash-a');
      });

      it('close is idempotent', async () => {
        await store.close();
        await store.close();
      });

      it('a closed store throws FosError, not a driver error', async () => {
        await store.close();
        expect(await codeOf(store.getUser('alice'))).toMatch(/^FOS_ERR_STORE_/u);
      });
    });

    describe('users', () => {
      it('creates and reads a user with its hash and no quotas', async () => {
        expect(await store.getUser('alice')).toEqual({
          name: 'alice',
          passwordHash: 'hash-a',
          createdAt: T0,
          quotaBytes: null,
          quotaFiles: null,
        });
      });

      it('returns null for an unknown user', async () => {
        expect(await store.getUser('carol')).toBeNull();
      });

      it('refuses a duplicate user with STORE_USER_EXISTS and keeps the first', async () => {
        expect(await codeOf(store.createUser('alice', 'other', T0 + 5))).toBe('FOS_ERR_STORE_USER_EXISTS');
        expect((await store.getUser('alice'))?.passwordHash).toBe('hash-a');
      });

      it('user names are case-sensitive', async () => {
        await store.createUser('Alice', 'hash-A', T0);
        expect((await store.getUser('Alice'))?.passwordHash).toBe('hash-A');
        expect((await store.getUser('alice'))?.passwordHash).toBe('hash-a');
      });

      it('lists accounts by name without hashes', async () => {
        await store.createUser('Zed', 'h', T0);
        await store.createUser('carol', 'h', T0);
        const users = await store.listUsers();
        expect(users.map((u) => u.name)).toEqual(['Zed', 'alice', 'bob', 'carol']);
        for (const user of users) expect(user).not.toHaveProperty('passwordHash');
        expect(users[1]).toEqual({ name: 'alice', createdAt: T0, quotaBytes: null, quotaFiles: null });
      });

      it('updates only the fields in the patch', async () => {
        await store.updateUser('alice', { quotaBytes: 1000 });
        await store.updateUser('alice', { quotaFiles: 10 });
        await store.updateUser('alice', { passwordHash: 'new' });
        await store.updateUser('alice', {});
        expect(await store.getUser('alice')).toMatchObject({ passwordHash: 'new', quotaBytes: 1000, quotaFiles: 10 });
        await store.updateUser('alice', { quotaBytes: null });
        expect(await store.getUser('alice')).toMatchObject({ quotaBytes: null, quotaFiles: 10 });
        expect(await store.getUser('bob')).toMatchObject({ passwordHash: 'hash-b', quotaBytes: null });
      });

      it('updating or removing an unknown user is STORE_NO_USER', async () => {
        expect(await codeOf(store.updateUser('carol', { quotaBytes: 1 }))).toBe('FOS_ERR_STORE_NO_USER');
        expect(await codeOf(store.removeUser('carol'))).toBe('FOS_ERR_STORE_NO_USER');
      });

      it('removeUser drops the account, its tokens, entries, revision and trash, and no one else', async () => {
        await store.createToken(token('alice', 't1'));
        await store.createToken(token('bob', 't2'));
        await store.commit('alice', [file('a.txt', 5)], T0);
        await store.commit('bob', [file('b.txt', 7)], T0);
        await store.addTrash(trash('alice', 'x1', 'a.txt', T0));
        await store.addTrash(trash('bob', 'x2', 'b.txt', T0));
        await store.addDeletionBatch('alice', batch('aaaaaaaa', [heldFile('a.txt')]), [heldFile('a.txt')], null);
        await store.addDeletionBatch('bob', batch('bbbbbbbb', [heldFile('b.txt')]), [heldFile('b.txt')], null);

        await store.removeUser('alice');

        expect(await store.getUser('alice')).toBeNull();
        expect(await store.findToken('hash-t1')).toBeNull();
        expect(await store.listTokens('alice')).toEqual([]);
        expect(await store.getEntry('alice', 'a.txt')).toBeNull();
        expect(await store.changesSince('alice', 0)).toEqual([]);
        expect(await store.currentRev('alice')).toBe(0);
        expect(await store.usage('alice')).toEqual({ bytes: 0, files: 0 });
        expect(await store.listTrash('alice', '')).toEqual([]);
        expect(await store.listDeletionBatches('alice', {})).toEqual([]);
        expect(await store.listDeletionItems('alice', 'aaaaaaaa')).toEqual([]);

        expect(await store.listDeletionItems('bob', 'bbbbbbbb')).toEqual([heldFile('b.txt')]);
        expect(await store.findToken('hash-t2')).not.toBeNull();
        expect(await store.getEntry('bob', 'b.txt')).not.toBeNull();
        expect(await store.currentRev('bob')).toBe(1);
        expect(await store.listTrash('bob', '')).toHaveLength(1);
      });

      it('a re-created user starts from revision 0', async () => {
        await store.commit('alice', [file('a')], T0);
        await store.removeUser('alice');
        await store.createUser('alice', 'again', T0);
        expect(await store.currentRev('alice')).toBe(0);
        expect((await store.commit('alice', [file('b')], T0))[0]?.rev).toBe(1);
      });
    });

    describe('tokens', () => {
      it('finds a token by hash with all its fields', async () => {
        await store.createToken(token('alice', 't1'));
        expect(await store.findToken('hash-t1')).toEqual({
          id: 't1',
          user: 'alice',
          device: 't1-device',
          tokenHash: 'hash-t1',
          createdAt: T0,
          lastUsedAt: null,
        });
        expect(await store.findToken('hash-nope')).toBeNull();
      });

      it('lists a user’s tokens by creation time without hashes', async () => {
        await store.createToken(token('alice', 'late', T0 + 10));
        await store.createToken(token('alice', 'early', T0));
        await store.createToken(token('bob', 'other', T0));
        const list = await store.listTokens('alice');
        expect(list.map((t) => t.id)).toEqual(['early', 'late']);
        for (const info of list) expect(info).not.toHaveProperty('tokenHash');
        expect(await store.listTokens('carol')).toEqual([]);
      });

      it('touchToken records the last use', async () => {
        await store.createToken(token('alice', 't1'));
        await store.touchToken('t1', T0 + 99);
        expect((await store.findToken('hash-t1'))?.lastUsedAt).toBe(T0 + 99);
        expect((await store.listTokens('alice'))[0]?.lastUsedAt).toBe(T0 + 99);
        await store.touchToken('missing', T0);
      });

      it('revokeToken only revokes the owner’s token, once', async () => {
        await store.createToken(token('alice', 't1'));
        expect(await store.revokeToken('bob', 't1')).toBe(false);
        expect(await store.findToken('hash-t1')).not.toBeNull();
        expect(await store.revokeToken('alice', 't1')).toBe(true);
        expect(await store.revokeToken('alice', 't1')).toBe(false);
        expect(await store.findToken('hash-t1')).toBeNull();
      });

      it('a token for an unknown user is STORE_NO_USER', async () => {
        expect(await codeOf(store.createToken(token('carol', 't9')))).toBe('FOS_ERR_STORE_NO_USER');
      });

      it('a duplicate token hash or id is refused with a store error', async () => {
        await store.createToken(token('alice', 't1'));
        expect(await codeOf(store.createToken({ ...token('alice', 't2'), tokenHash: 'hash-t1' }))).toBe(
          'FOS_ERR_STORE_WRITE',
        );
        expect(await codeOf(store.createToken({ ...token('alice', 't1'), tokenHash: 'hash-other' }))).toBe(
          'FOS_ERR_STORE_WRITE',
        );
      });
    });

    describe('revisions and commits', () => {
      it('starts at revision 0 and gives each commit exactly one new revision', async () => {
        expect(await store.currentRev('alice')).toBe(0);
        const first = await store.commit('alice', [file('a'), file('b'), dir('c')], T0);
        expect(first.map((e) => e.rev)).toEqual([1, 1, 1]);
        expect(await store.currentRev('alice')).toBe(1);
        const second = await store.commit('alice', [file('a', 2, SHA_B)], T0);
        expect(second[0]?.rev).toBe(2);
        expect(await store.currentRev('alice')).toBe(2);
      });

      it('returns the committed entries in input order', async () => {
        const out = await store.commit('alice', [file('z', 3, SHA_B, T0 + 0.5), dir('a'), gone('m')], T0);
        expect(out).toEqual([
          { path: 'z', kind: 'file', size: 3, mtimeMs: T0 + 0.5, sha256: SHA_B, rev: 1, deleted: false },
          { path: 'a', kind: 'dir', size: 0, mtimeMs: T0, sha256: '', rev: 1, deleted: false },
          { path: 'm', kind: 'file', size: 0, mtimeMs: T0, sha256: '', rev: 1, deleted: true },
        ]);
      });

      it('keeps each user’s counter separate', async () => {
        await store.commit('alice', [file('a')], T0);
        await store.commit('alice', [file('b')], T0);
        await store.commit('bob', [file('a')], T0);
        expect(await store.currentRev('alice')).toBe(2);
        expect(await store.currentRev('bob')).toBe(1);
        expect(paths(await store.listEntries('bob', { prefix: '', recursive: true }))).toEqual(['a']);
      });

      it('an empty commit changes nothing', async () => {
        expect(await store.commit('alice', [], T0)).toEqual([]);
        expect(await store.currentRev('alice')).toBe(0);
      });

      it('revisions are strictly increasing over many commits', async () => {
        let last = 0;
        for (let i = 0; i < 50; i += 1) {
          const [entry] = await store.commit('alice', [file(`f${i % 7}`, i)], T0 + i);
          expect(entry?.rev).toBe(last + 1);
          last = entry?.rev ?? -1;
        }
      });

      it('a commit for an unknown user is STORE_NO_USER', async () => {
        expect(await codeOf(store.commit('carol', [file('a')], T0))).toBe('FOS_ERR_STORE_NO_USER');
        expect(await store.currentRev('carol')).toBe(0);
      });

      it('a malformed batch is refused whole, before any change', async () => {
        await store.commit('alice', [file('keep')], T0);
        const cases: [Change[], FosErrorCode][] = [
          [[file('ok'), file('../x')], 'FOS_ERR_PATH_BAD'],
          [[file('ok'), file('/abs')], 'FOS_ERR_PATH_BAD'],
          [[file('ok'), file('')], 'FOS_ERR_PATH_BAD'],
          [[file('ok'), file('cafe\u0301')], 'FOS_ERR_PATH_BAD'],
          [[file('ok'), file('ok')], 'FOS_ERR_STORE_WRITE'],
          [[file('ok'), file('neg', -1)], 'FOS_ERR_STORE_WRITE'],
          [[file('ok'), file('frac', 1.5)], 'FOS_ERR_STORE_WRITE'],
          [[file('ok'), file('nohash', 1, '')], 'FOS_ERR_STORE_WRITE'],
          [[file('ok'), file('upper', 1, 'A'.repeat(64))], 'FOS_ERR_STORE_WRITE'],
          [[file('ok'), file('nan', 1, SHA_A, Number.NaN)], 'FOS_ERR_STORE_WRITE'],
        ];
        for (const [changes, code] of cases) {
          expect(await codeOf(store.commit('alice', changes, T0))).toBe(code);
        }
        expect(await store.currentRev('alice')).toBe(1);
        expect(await store.getEntry('alice', 'ok')).toBeNull();
      });
    });

    describe('entries and tombstones', () => {
      it('getEntry returns live entries, tombstones, and null for paths never seen', async () => {
        await store.commit('alice', [file('a.txt', 4)], T0);
        expect(await store.getEntry('alice', 'a.txt')).toMatchObject({ size: 4, deleted: false, rev: 1 });
        await store.commit('alice', [gone('a.txt')], T0);
        expect(await store.getEntry('alice', 'a.txt')).toMatchObject({ deleted: true, rev: 2 });
        expect(await store.getEntry('alice', 'never')).toBeNull();
        expect(await store.getEntry('bob', 'a.txt')).toBeNull();
      });

      it('a deleted path can come back', async () => {
        await store.commit('alice', [file('a')], T0);
        await store.commit('alice', [gone('a')], T0);
        await store.commit('alice', [file('a', 9, SHA_B)], T0);
        expect(await store.getEntry('alice', 'a')).toMatchObject({ deleted: false, size: 9, sha256: SHA_B, rev: 3 });
        expect(paths(await store.listEntries('alice', { prefix: '', recursive: true }))).toEqual(['a']);
      });

      it('changesSince reports every change after a revision, deletions included, by revision', async () => {
        await store.commit('alice', [file('a'), file('b')], T0);
        await store.commit('alice', [gone('a')], T0);
        await store.commit('alice', [file('c'), dir('d')], T0);
        const all = await store.changesSince('alice', 0);
        expect(all.map((e) => [e.path, e.rev, e.deleted])).toEqual([
          ['b', 1, false],
          ['a', 2, true],
          ['c', 3, false],
          ['d', 3, false],
        ]);
        expect(paths(await store.changesSince('alice', 2))).toEqual(['c', 'd']);
        expect(await store.changesSince('alice', 3)).toEqual([]);
        expect(await store.changesSince('alice', 100)).toEqual([]);
        expect(await store.changesSince('bob', 0)).toEqual([]);
      });

      it('a path changed twice appears once in the feed, at its latest revision', async () => {
        await store.commit('alice', [file('a', 1)], T0);
        await store.commit('alice', [file('a', 2, SHA_B)], T0);
        expect(await store.changesSince('alice', 0)).toEqual([
          { path: 'a', kind: 'file', size: 2, mtimeMs: T0, sha256: SHA_B, rev: 2, deleted: false },
        ]);
      });
    });

    describe('listEntries', () => {
      const tree = [
        dir('a'),
        file('a/x'),
        dir('a/sub'),
        file('a/sub/deep'),
        file('a0'),
        file('a-b'),
        file('a.b'),
        file('a b'),
        dir('ab'),
        file('ab/y'),
        file('a%'),
        dir('a_'),
        file('a_/z'),
        file('b'),
        file('\u00e9'),
        file('\u{1f600}'),
        file('\uff21'),
      ];

      beforeEach(async () => {
        await store.commit('alice', tree, T0);
      });

      it('recursive lists the whole subtree, not siblings that share a prefix', async () => {
        expect(paths(await store.listEntries('alice', { prefix: 'a', recursive: true }))).toEqual([
          'a/sub',
          'a/sub/deep',
          'a/x',
        ]);
        expect(paths(await store.listEntries('alice', { prefix: 'ab', recursive: true }))).toEqual(['ab/y']);
      });

      it('non-recursive lists direct children only', async () => {
        expect(paths(await store.listEntries('alice', { prefix: 'a', recursive: false }))).toEqual(['a/sub', 'a/x']);
        expect(paths(await store.listEntries('alice', { prefix: 'a/sub', recursive: false }))).toEqual(['a/sub/deep']);
      });

      it('the root lists everything (recursive) or top-level names, ordered by UTF-8 bytes', async () => {
        const top = tree.filter((c) => !c.path.includes('/')).map((c) => c.path).sort(byteOrder);
        expect(paths(await store.listEntries('alice', { prefix: '', recursive: false }))).toEqual(top);
        const all = tree.map((c) => c.path).sort(byteOrder);
        expect(paths(await store.listEntries('alice', { prefix: '', recursive: true }))).toEqual(all);
      });

      it('treats LIKE wildcards in the prefix literally', async () => {
        expect(paths(await store.listEntries('alice', { prefix: 'a_', recursive: true }))).toEqual(['a_/z']);
        expect(paths(await store.listEntries('alice', { prefix: 'a%', recursive: true }))).toEqual([]);
        expect(paths(await store.listEntries('alice', { prefix: 'a_', recursive: false }))).toEqual(['a_/z']);
      });

      it('a file, a missing folder or another user’s folder lists nothing', async () => {
        expect(await store.listEntries('alice', { prefix: 'b', recursive: true })).toEqual([]);
        expect(await store.listEntries('alice', { prefix: 'nope', recursive: false })).toEqual([]);
        expect(await store.listEntries('bob', { prefix: 'a', recursive: true })).toEqual([]);
      });

      it('leaves tombstones out', async () => {
        await store.commit('alice', [gone('a/x'), gone('a/sub/deep')], T0);
        expect(paths(await store.listEntries('alice', { prefix: 'a', recursive: true }))).toEqual(['a/sub']);
        expect(paths(await store.listEntries('alice', { prefix: 'a', recursive: false }))).toEqual(['a/sub']);
      });

      it('returns full entries', async () => {
        const [entry] = await store.listEntries('alice', { prefix: 'ab', recursive: false });
        expect(entry).toEqual({ path: 'ab/y', kind: 'file', size: 1, mtimeMs: T0, sha256: SHA_A, rev: 1, deleted: false });
      });
    });

    describe('listCommitted', () => {
      it('lists live entries at a path and below it with the time of their commit', async () => {
        await store.commit('alice', [dir('a'), file('a/x'), file('ab')], T0);
        await store.commit('alice', [file('a/y', 2, SHA_B)], T0 + 10);
        await store.commit('alice', [file('a/x', 5, SHA_B)], T0 + 20);
        await store.commit('bob', [file('a/z')], T0 + 30);
        const under = await store.listCommitted('alice', 'a');
        expect(under.map((e) => [e.path, e.committedAt])).toEqual([
          ['a', T0],
          ['a/x', T0 + 20],
          ['a/y', T0 + 10],
        ]);
        expect(under[1]).toEqual({ ...file('a/x', 5, SHA_B), rev: 3, committedAt: T0 + 20 });
      });

      it('is segment-aware, leaves tombstones out, and lists a file as itself', async () => {
        await store.commit('alice', [file('a/x'), file('a/gone'), file('ab/c'), file('a%'), file('b')], T0);
        await store.commit('alice', [gone('a/gone')], T0 + 5);
        expect(paths(await store.listCommitted('alice', 'a'))).toEqual(['a/x']);
        expect(paths(await store.listCommitted('alice', 'b'))).toEqual(['b']);
        expect(paths(await store.listCommitted('alice', 'a%'))).toEqual(['a%']);
        expect(paths(await store.listCommitted('alice', ''))).toEqual(['a%', 'a/x', 'ab/c', 'b']);
        expect(await store.listCommitted('alice', 'missing')).toEqual([]);
        expect(await store.listCommitted('bob', '')).toEqual([]);
      });
    });

    describe('listTrashAt', () => {
      it('returns the versions current at a time: validFrom <= at < trashedAt', async () => {
        // a: three versions one after the other; b: one version; c: under another user.
        await store.addTrash(trash('alice', 'a1', 'd/a', T0 + 10, T0));
        await store.addTrash(trash('alice', 'a2', 'd/a', T0 + 20, T0 + 10));
        await store.addTrash(trash('alice', 'a3', 'd/a', T0 + 30, T0 + 20));
        await store.addTrash(trash('alice', 'b1', 'd/b', T0 + 15, T0 + 5));
        await store.addTrash(trash('bob', 'c1', 'd/a', T0 + 30, T0));
        const ids = async (path: string, at: number): Promise<string[]> =>
          (await store.listTrashAt('alice', path, at)).map((r) => r.id);
        expect(await ids('d', T0 - 1)).toEqual([]);
        expect(await ids('d', T0)).toEqual(['a1']);
        expect(await ids('d', T0 + 5)).toEqual(['a1', 'b1']);
        expect(await ids('d', T0 + 10)).toEqual(['a2', 'b1']);
        expect(await ids('d', T0 + 15)).toEqual(['a2']);
        expect(await ids('d', T0 + 29)).toEqual(['a3']);
        expect(await ids('d', T0 + 30)).toEqual([]);
        expect(await ids('', T0 + 12)).toEqual(['a2', 'b1']);
        expect(await ids('d/a', T0 + 12)).toEqual(['a2']);
        expect((await store.listTrashAt('alice', 'd', T0 + 12))[0]).toEqual(trash('alice', 'a2', 'd/a', T0 + 20, T0 + 10));
      });

      it('is segment-aware and orders by path, then trashedAt, then id', async () => {
        await store.addTrash(trash('alice', 't2', 'a/x', T0 + 20));
        await store.addTrash(trash('alice', 't1', 'a/x', T0 + 20));
        await store.addTrash(trash('alice', 't0', 'a/x', T0 + 10));
        await store.addTrash(trash('alice', 't3', 'ab', T0 + 20));
        await store.addTrash(trash('alice', 't4', 'a', T0 + 20));
        expect((await store.listTrashAt('alice', 'a', T0 + 5)).map((r) => r.id)).toEqual(['t4', 't0', 't1', 't2']);
        expect((await store.listTrashAt('alice', 'a/x', T0 + 15)).map((r) => r.id)).toEqual(['t1', 't2']);
        expect(await store.listTrashAt('bob', 'a', T0 + 5)).toEqual([]);
      });
    });

    describe('usage', () => {
      it('counts live files only: overwrites replace, deletions subtract, folders do not count', async () => {
        expect(await store.usage('alice')).toEqual({ bytes: 0, files: 0 });
        await store.commit('alice', [file('a', 10), file('b', 5), dir('d')], T0);
        expect(await store.usage('alice')).toEqual({ bytes: 15, files: 2 });
        await store.commit('alice', [file('a', 3)], T0);
        expect(await store.usage('alice')).toEqual({ bytes: 8, files: 2 });
        await store.commit('alice', [gone('b'), gone('d', 'dir')], T0);
        expect(await store.usage('alice')).toEqual({ bytes: 3, files: 1 });
        await store.commit('alice', [gone('never-existed')], T0);
        expect(await store.usage('alice')).toEqual({ bytes: 3, files: 1 });
        await store.commit('alice', [file('b', 100)], T0);
        expect(await store.usage('alice')).toEqual({ bytes: 103, files: 2 });
        expect(await store.usage('bob')).toEqual({ bytes: 0, files: 0 });
      });

      it('a file replaced by a folder stops counting', async () => {
        await store.commit('alice', [file('x', 7)], T0);
        await store.commit('alice', [dir('x')], T0);
        expect(await store.usage('alice')).toEqual({ bytes: 0, files: 0 });
      });
    });

    describe('model check', () => {
      const name = fc.constantFrom('a', 'b', 'a/b', 'a/c', 'ab', 'ab/c', 'a/b/c', 'x');
      const change = fc.record({
        path: name,
        kind: fc.constantFrom<'file' | 'dir'>('file', 'dir'),
        size: fc.nat(1000),
        deleted: fc.boolean(),
      });
      const batch = fc.uniqueArray(change, { selector: (c) => c.path, maxLength: 5 });

      it('matches an in-memory model over random commit sequences', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(batch, { maxLength: 12 }), async (batches) => {
            run += 1;
            const user = `model${run}`;
            await store.createUser(user, 'h', T0);
            const model = new Map<string, Entry>();
            let rev = 0;
            for (const b of batches) {
              const changes: Change[] = b.map((c) => ({
                path: c.path,
                kind: c.kind,
                size: c.kind === 'dir' || c.deleted ? 0 : c.size,
                mtimeMs: T0,
                sha256: c.kind === 'dir' || c.deleted ? '' : SHA_A,
                deleted: c.deleted,
              }));
              await store.commit(user, changes, T0);
              if (changes.length > 0) rev += 1;
              for (const c of changes) model.set(c.path, { ...c, rev });
            }
            const live = [...model.values()].filter((e) => !e.deleted).sort((x, y) => byteOrder(x.path, y.path));
            expect(await store.currentRev(user)).toBe(rev);
            expect(await store.listEntries(user, { prefix: '', recursive: true })).toEqual(live);
            expect(paths(await store.listEntries(user, { prefix: 'a', recursive: false }))).toEqual(
              live.filter((e) => /^a\/[^/]+$/u.test(e.path)).map((e) => e.path),
            );
            const files = live.filter((e) => e.kind === 'file');
            expect(await store.usage(user)).toEqual({
              bytes: files.reduce((sum, e) => sum + e.size, 0),
              files: files.length,
            });
            const feed = await store.changesSince(user, 0);
            expect(feed).toHaveLength(model.size);
            expect(feed.map((e) => e.rev)).toEqual([...feed.map((e) => e.rev)].sort((x, y) => x - y));
          }),
          { numRuns: 40 },
        );
      });
    });

    describe('withUserLock', () => {
      it('returns the function’s result and passes its error through', async () => {
        expect(await store.withUserLock('alice', async () => 42)).toBe(42);
        await expect(store.withUserLock('alice', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
        expect(await store.withUserLock('alice', async () => 'after')).toBe('after');
      });

      it('serialises sections of one user, in call order', async () => {
        const events: string[] = [];
        const gate = deferred();
        const firstIn = deferred();
        const first = store.withUserLock('alice', async () => {
          events.push('first:start');
          firstIn.resolve();
          await gate.promise;
          events.push('first:end');
        });
        const second = store.withUserLock('alice', async () => {
          events.push('second:start');
          events.push('second:end');
        });
        // A networked store takes its lock asynchronously: wait until the first holds it.
        await firstIn.promise;
        await new Promise((r) => setImmediate(r));
        expect(events).toEqual(['first:start']);
        gate.resolve();
        await Promise.all([first, second]);
        expect(events).toEqual(['first:start', 'first:end', 'second:start', 'second:end']);
      });

      it('lets different users run at the same time', async () => {
        const gate = deferred();
        const bobRan = deferred();
        const alice = store.withUserLock('alice', async () => {
          await gate.promise;
        });
        await store.withUserLock('bob', async () => {
          bobRan.resolve();
        });
        await bobRan.promise;
        gate.resolve();
        await alice;
      });

      it('releases the lock after a failure', async () => {
        const failing = store.withUserLock('alice', () => Promise.reject(new Error('x')));
        const next = store.withUserLock('alice', async () => 'ran');
        await expect(failing).rejects.toThrow('x');
        expect(await next).toBe('ran');
      });

      it('makes read-check-commit sequences lose no update', async () => {
        await store.commit('alice', [file('counter', 0)], T0);
        const bump = () =>
          store.withUserLock('alice', async () => {
            const current = await store.getEntry('alice', 'counter');
            await new Promise((r) => setImmediate(r));
            await store.commit('alice', [file('counter', (current?.size ?? 0) + 1)], T0);
          });
        await Promise.all(Array.from({ length: 20 }, bump));
        expect((await store.getEntry('alice', 'counter'))?.size).toBe(20);
        expect(await store.currentRev('alice')).toBe(21);
      });
    });

    describe('trash', () => {
      it('stores and lists trash records by path prefix, segment-aware', async () => {
        const records = [
          trash('alice', 't1', 'a', T0 + 1),
          trash('alice', 't2', 'a/x', T0 + 2),
          trash('alice', 't3', 'ab', T0 + 3),
          trash('alice', 't4', 'a/x', T0 + 1),
          trash('bob', 't5', 'a', T0),
        ];
        for (const r of records) await store.addTrash(r);
        expect(await store.listTrash('alice', 'a')).toEqual([records[0], records[3], records[1]]);
        expect((await store.listTrash('alice', '')).map((r) => r.id)).toEqual(['t1', 't4', 't2', 't3']);
        expect((await store.listTrash('alice', 'a/x')).map((r) => r.id)).toEqual(['t4', 't2']);
        expect(await store.listTrash('alice', 'zz')).toEqual([]);
        expect((await store.listTrash('bob', 'a')).map((r) => r.id)).toEqual(['t5']);
      });

      it('trash for an unknown user is STORE_NO_USER, a duplicate id a store error', async () => {
        expect(await codeOf(store.addTrash(trash('carol', 't1', 'a', T0)))).toBe('FOS_ERR_STORE_NO_USER');
        await store.addTrash(trash('alice', 't1', 'a', T0));
        expect(await codeOf(store.addTrash(trash('alice', 't1', 'b', T0)))).toBe('FOS_ERR_STORE_WRITE');
      });

      it('purgeTrash removes and returns records older than the cut-off, for all users', async () => {
        await store.addTrash(trash('alice', 'old1', 'a', T0));
        await store.addTrash(trash('bob', 'old2', 'b', T0 + 5));
        await store.addTrash(trash('alice', 'edge', 'c', T0 + 10));
        await store.addTrash(trash('alice', 'new', 'd', T0 + 20));
        const purged = await store.purgeTrash(T0 + 10);
        expect(purged.map((r) => r.id)).toEqual(['old1', 'old2']);
        expect(purged[0]).toEqual(trash('alice', 'old1', 'a', T0));
        expect((await store.listTrash('alice', '')).map((r) => r.id)).toEqual(['edge', 'new']);
        expect(await store.listTrash('bob', '')).toEqual([]);
        expect(await store.purgeTrash(T0 + 10)).toEqual([]);
      });
    });

    describe('held deletion batches', () => {
      const items = [heldFile('docs/b.txt', 4, 10), heldFile('docs/a.txt', 2, 5), { path: 'docs/sub', kind: 'dir', rev: 3, size: 0, sha256: '' } as const];

      it('stores a batch with its items, listed by path, the first n when asked', async () => {
        const held = batch('k3f9q2xm', items, { folder: 'docs' });
        await store.addDeletionBatch('alice', held, items, null);
        expect(await store.getDeletionBatch('alice', 'k3f9q2xm')).toEqual(held);
        expect(held.bytes).toBe(15);
        expect((await store.listDeletionItems('alice', 'k3f9q2xm')).map((i) => i.path)).toEqual(['docs/a.txt', 'docs/b.txt', 'docs/sub']);
        expect(await store.listDeletionItems('alice', 'k3f9q2xm', 1)).toEqual([heldFile('docs/a.txt', 2, 5)]);
        expect(await store.getDeletionBatch('bob', 'k3f9q2xm')).toBeNull();
        expect(await store.listDeletionItems('bob', 'k3f9q2xm')).toEqual([]);
      });

      it('keeps one pending batch per device, folder and side; a supersede swaps them in one step', async () => {
        const first = batch('aaaaaaa1', items, { folder: 'docs' });
        await store.addDeletionBatch('alice', first, items, null);
        const second = batch('aaaaaaa2', items.slice(1), { folder: 'docs', createdAt: T0 + 5 });
        expect(await codeOf(store.addDeletionBatch('alice', second, items.slice(1), null))).toBe('FOS_ERR_STORE_CONFLICT');
        expect(await store.getDeletionBatch('alice', 'aaaaaaa2')).toBeNull();
        // Another side, device or folder is a batch of its own.
        await store.addDeletionBatch('alice', batch('aaaaaaa3', items, { folder: 'docs', side: 'local' }), items, null);
        await store.addDeletionBatch('alice', batch('aaaaaaa4', items, { folder: 'docs', device: 'desktop' }), items, null);

        await store.addDeletionBatch('alice', second, items.slice(1), 'aaaaaaa1');
        expect(await store.getDeletionBatch('alice', 'aaaaaaa1')).toMatchObject({ state: 'superseded', successor: 'aaaaaaa2', resolvedAt: T0 + 5 });
        expect(await store.getDeletionBatch('alice', 'aaaaaaa2')).toMatchObject({ state: 'held', count: 2 });
        // The superseded batch is no longer pending: it cannot be replaced twice.
        const third = batch('aaaaaaa5', items, { folder: 'docs' });
        expect(await codeOf(store.addDeletionBatch('alice', third, items, 'aaaaaaa1'))).toBe('FOS_ERR_STORE_CONFLICT');
        expect(await store.getDeletionBatch('alice', 'aaaaaaa5')).toBeNull();
      });

      it('lists batches oldest first, filtered by state, device, folder and side', async () => {
        await store.addDeletionBatch('alice', batch('bbbbbbb2', items, { createdAt: T0 + 2 }), items, null);
        await store.addDeletionBatch('alice', batch('bbbbbbb1', items, { createdAt: T0 + 1, side: 'local' }), items, null);
        await store.addDeletionBatch('alice', batch('bbbbbbb3', items, { createdAt: T0 + 3, device: 'desktop', folder: 'docs' }), items, null);
        await store.addDeletionBatch('bob', batch('bbbbbbb4', items), items, null);
        expect(await store.resolveDeletionBatch('alice', 'bbbbbbb2', { state: 'approved', resolvedAt: T0 + 9, commitRev: 7 })).toBe(true);
        const ids = async (filter: Parameters<Store['listDeletionBatches']>[1]): Promise<string[]> =>
          (await store.listDeletionBatches('alice', filter)).map((b) => b.id);
        expect(await ids({})).toEqual(['bbbbbbb1', 'bbbbbbb2', 'bbbbbbb3']);
        expect(await ids({ states: ['held'] })).toEqual(['bbbbbbb1', 'bbbbbbb3']);
        expect(await ids({ states: ['approved', 'rejected'] })).toEqual(['bbbbbbb2']);
        expect(await ids({ device: 'laptop', side: 'remote' })).toEqual(['bbbbbbb2']);
        expect(await ids({ folder: 'docs' })).toEqual(['bbbbbbb3']);
        expect(await store.getDeletionBatch('alice', 'bbbbbbb2')).toMatchObject({ state: 'approved', resolvedAt: T0 + 9, commitRev: 7 });
      });

      it('resolves a held batch once; a decided or unknown batch stays as it is', async () => {
        await store.addDeletionBatch('alice', batch('ccccccc1', items), items, null);
        expect(await store.resolveDeletionBatch('alice', 'ccccccc1', { state: 'rejected', resolvedAt: T0 + 1 })).toBe(true);
        expect(await store.resolveDeletionBatch('alice', 'ccccccc1', { state: 'approved', resolvedAt: T0 + 2 })).toBe(false);
        expect(await store.getDeletionBatch('alice', 'ccccccc1')).toMatchObject({ state: 'rejected', resolvedAt: T0 + 1, commitRev: null });
        expect(await store.resolveDeletionBatch('alice', 'nosuchid', { state: 'approved', resolvedAt: T0 })).toBe(false);
        expect(await store.resolveDeletionBatch('bob', 'ccccccc1', { state: 'approved', resolvedAt: T0 })).toBe(false);
        // The pending slot is free again once the batch is decided.
        await store.addDeletionBatch('alice', batch('ccccccc2', items), items, null);
      });

      it('refuses malformed batches whole, and unknown users', async () => {
        expect(await codeOf(store.addDeletionBatch('carol', batch('ddddddd1', items), items, null))).toBe('FOS_ERR_STORE_NO_USER');
        const twice = [heldFile('a'), heldFile('a')];
        expect(await codeOf(store.addDeletionBatch('alice', batch('ddddddd2', twice), twice, null))).toBe('FOS_ERR_STORE_WRITE');
        const outside = [heldFile('other/a')];
        expect(await codeOf(store.addDeletionBatch('alice', batch('ddddddd3', outside, { folder: 'docs' }), outside, null))).toBe('FOS_ERR_PATH_BAD');
        expect(await codeOf(store.addDeletionBatch('alice', { ...batch('ddddddd4', items), count: 1 }, items, null))).toBe('FOS_ERR_STORE_WRITE');
        await store.addDeletionBatch('alice', batch('ddddddd5', items), items, null);
        expect(await codeOf(store.addDeletionBatch('alice', batch('ddddddd5', items, { device: 'x' }), items, null))).toBe('FOS_ERR_STORE_WRITE');
        expect((await store.listDeletionBatches('alice', {})).map((b) => b.id)).toEqual(['ddddddd5']);
      });

      it('records deletions already carried out as an approved batch with its commit; other states and sides are refused', async () => {
        const decided = { ...batch('fffffff1', items, { folder: 'docs', device: 'restore' }), state: 'approved', resolvedAt: T0 + 1, commitRev: 12 } as const;
        await store.addDeletionBatch('alice', decided, items, null);
        expect(await store.getDeletionBatch('alice', 'fffffff1')).toEqual(decided);
        expect((await store.listDeletionBatches('alice', { states: ['approved'] })).map((b) => b.id)).toEqual(['fffffff1']);
        // It holds no pending slot: the same device may hold a batch for the folder.
        await store.addDeletionBatch('alice', batch('fffffff2', items, { folder: 'docs', device: 'restore' }), items, null);
        const refused = [
          { ...decided, id: 'fffffff3', commitRev: null },
          { ...decided, id: 'fffffff4', side: 'local' },
          { ...decided, id: 'fffffff5', state: 'rejected' },
          { ...batch('fffffff6', items, { folder: 'docs' }), commitRev: 3 },
        ] as const;
        for (const bad of refused) expect(await codeOf(store.addDeletionBatch('alice', bad, items, null))).toBe('FOS_ERR_STORE_WRITE');
      });

      it('holds 10,000 items in one batch', async () => {
        const many = Array.from({ length: 10_000 }, (_v, i) => heldFile(`bulk/f${String(i).padStart(5, '0')}.txt`, i + 1, 1));
        await store.addDeletionBatch('alice', batch('eeeeeee1', many), many, null);
        const back = await store.listDeletionItems('alice', 'eeeeeee1');
        expect(back).toHaveLength(10_000);
        expect(deletionSetKey(back)).toBe(deletionSetKey(many));
      });
    });
  });
}
