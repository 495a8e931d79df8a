import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.js';
import { deletionSetKey } from '../src/protocol/deletion-batch.js';
import { main } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/main.js';
import { openPostgresStore } from '../src/store/postgres.js';
import type { PostgresStore } from '../src/store/postgres.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { dir, file, gone } from './store-contract.js';
import { createTestDatabase } from './support/postgres.js';
import type { TestDatabase } from './support/postgres.js';

const T0 = 1_700_000_000_000;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function fos(...args: string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const io: CliIo = { stdout, stderr, stdin: new PassThrough(), env: {} };
  const code = await main(['node', 'fos', ...args], io);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Fills a store through its API: two users with tokens, quotas, files, tombstones and trash. */
async function seed(store: Store): Promise<void> {
  await store.createUser('alice', '$2b$04$aliceHashaliceHashaliceHashaliceHashaliceHashalice', T0);
  await store.createUser('bob', '$2b$04$bobHashbobHashbobHashbobHashbobHashbobHashbobHashbo', T0 + 1);
  await store.createUser('carol', '$2b$04$carolNoDatacarolNoDatacarolNoDatacarolNoDatacarol', T0 + 2);
  await store.updateUser('alice', { quotaBytes: 1_000_000, quotaFiles: 100 });
  await store.createToken({ id: 'tok1', user: 'alice', device: 'laptop', tokenHash: 'h1', createdAt: T0, lastUsedAt: null });
  await store.createToken({ id: 'tok2', user: 'bob', device: 'phone', tokenHash: 'h2', createdAt: T0 + 5, lastUsedAt: null });
  await store.touchToken('tok2', T0 + 50);
  await store.commit('alice', [dir('docs'), file('docs/a.txt', 10), file('b.bin', 2 ** 40, 'c'.repeat(64), T0 + 0.25)], T0);
  await store.commit('alice', [file('docs/a.txt', 12, 'd'.repeat(64))], T0 + 10);
  await store.commit('alice', [gone('b.bin')], T0 + 20);
  await store.commit('alice', [file('\u00e9t\u00e9/\u{1f600}.txt', 3)], T0 + 30);
  for (let i = 0; i < 30; i += 1) await store.commit('bob', [file(`n/${i}.txt`, i)], T0 + i);
  await store.commit('bob', [gone('n/7.txt'), gone('n/8.txt')], T0 + 40);
  await store.addTrash({
    id: 'trash1',
    user: 'alice',
    path: 'docs/a.txt',
    size: 10,
    mtimeMs: T0,
    sha256: 'a'.repeat(64),
    rev: 1,
    validFrom: T0,
    trashedAt: T0 + 10,
    storedAs: 'alice/trash1',
  });
  await store.addTrash({
    id: 'trash2',
    user: 'alice',
    path: 'b.bin',
    size: 2 ** 40,
    mtimeMs: T0 + 0.25,
    sha256: 'c'.repeat(64),
    rev: 1,
    validFrom: T0,
    trashedAt: T0 + 20,
    storedAs: 'alice/trash2',
  });
  // Held deletions (issue 11): one decided batch and one still waiting, with their items.
  const held = [
    { path: 'docs/a.txt', kind: 'file', rev: 2, size: 12, sha256: 'd'.repeat(64) },
    { path: 'docs', kind: 'dir', rev: 1, size: 0, sha256: '' },
  ] as const;
  const batch = {
    device: 'laptop',
    folder: '',
    side: 'remote',
    state: 'held',
    createdAt: T0 + 60,
    resolvedAt: null,
    count: 2,
    bytes: 12,
    commitRev: null,
    successor: null,
    itemsKey: deletionSetKey(held),
  } as const;
  await store.addDeletionBatch('alice', { ...batch, id: 'aaaa1111' }, held, null);
  await store.resolveDeletionBatch('alice', 'aaaa1111', { state: 'approved', resolvedAt: T0 + 70, commitRev: 5 });
  const waiting = held.slice(0, 1);
  await store.addDeletionBatch('alice', { ...batch, id: 'bbbb2222', side: 'local', createdAt: T0 + 80, count: 1, itemsKey: deletionSetKey(waiting) }, waiting, null);
}

/** Everything a store holds, read through the Store API. */
async function contents(store: Store): Promise<unknown> {
  const users = await store.listUsers();
  const perUser = [];
  for (const account of users) {
    const name = account.name;
    const tokens = await store.listTokens(name);
    perUser.push({
      record: await store.getUser(name),
      tokens,
      tokensByHash: await Promise.all(tokens.map((t) => store.findToken(`h${t.id.slice(3)}`))),
      rev: await store.currentRev(name),
      usage: await store.usage(name),
      feed: await store.changesSince(name, 0),
      live: await store.listEntries(name, { prefix: '', recursive: true }),
      top: await store.listEntries(name, { prefix: '', recursive: false }),
      trash: await store.listTrash(name, ''),
      batches: await Promise.all(
        (await store.listDeletionBatches(name, {})).map(async (batch) => ({ batch, items: await store.listDeletionItems(name, batch.id) })),
      ),
    });
  }
  return { users, perUser };
}

describe('fos migrate', () => {
  let db: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fos-migrate-'));
    const source = await openSqliteStore(dataDir);
    try {
      await seed(source);
    } finally {
      await source.close();
    }
    const target = await openPostgresStore(db.url);
    try {
      await target.importRows([], { force: true });
    } finally {
      await target.close();
    }
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function both<T>(fn: (source: Store, target: PostgresStore) => Promise<T>): Promise<T> {
    const source = await openSqliteStore(dataDir);
    const target = await openPostgresStore(db.url);
    try {
      return await fn(source, target);
    } finally {
      await source.close();
      await target.close();
    }
  }

  it('copies users, tokens, entries with revisions and tombstones, counters, trash and held deletions', async () => {
    const run = await fos('migrate', '--from', dataDir, '--to', db.url);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/users +3\n/u);
    expect(run.stdout).toMatch(/entries +34\n/u);
    await both(async (source, target) => {
      const expected = await contents(source);
      expect(await contents(target)).toEqual(expected);
      expect(JSON.stringify(expected)).toContain('"deleted":true');
      expect(JSON.stringify(expected)).toContain('"state":"approved"');
    });
  });

  it('the copy carries on where the source stopped: the next commit takes the next revision', async () => {
    expect((await fos('migrate', '--from', `sqlite:${join(dataDir, 'fos.db')}`, '--to', db.url)).code).toBe(EXIT.ok);
    await both(async (source, target) => {
      const next = (await source.currentRev('bob')) + 1;
      expect((await target.commit('bob', [file('n/new.txt', 1)], T0))[0]?.rev).toBe(next);
      expect(await target.usage('bob')).toEqual({ bytes: (await source.usage('bob')).bytes + 1, files: 29 });
    });
  });

  it('--json prints the counts as a stable object', async () => {
    const run = await fos('migrate', '--from', dataDir, '--to', db.url, '--json');
    expect(run.code).toBe(EXIT.ok);
    const report: unknown = JSON.parse(run.stdout);
    expect(report).toEqual({
      from: `sqlite:${join(dataDir, 'fos.db')}`,
      to: db.url,
      counts: { users: 3, tokens: 2, revs: 2, entries: 34, trash: 2, deletionBatches: 2, deletionItems: 3 },
    });
  });

  it('refuses a target that holds data unless --force, and leaves it as it was', async () => {
    expect((await fos('migrate', '--from', dataDir, '--to', db.url)).code).toBe(EXIT.ok);
    await both(async (_source, target) => {
      await target.createUser('dave', 'h', T0);
    });
    const refused = await fos('migrate', '--from', dataDir, '--to', db.url);
    expect(refused.code).toBe(EXIT.guard);
    expect(refused.stderr).toContain('FOS_ERR_STORE_HELD');
    expect(refused.stderr).toContain('--force');
    await both(async (_source, target) => {
      expect((await target.listUsers()).map((u) => u.name)).toEqual(['alice', 'bob', 'carol', 'dave']);
    });

    const forced = await fos('migrate', '--from', dataDir, '--to', db.url, '--force');
    expect(forced.code).toBe(EXIT.ok);
    await both(async (source, target) => {
      expect(await contents(target)).toEqual(await contents(source));
    });
  });

  it('copies in batches without losing a row', async () => {
    const { migrateStore } = await import('../src/store/migrate-store.js');
    const report = await migrateStore({ dataDir }, db.url, { force: false, batchRows: 7 });
    expect(report.counts).toEqual({ users: 3, tokens: 2, revs: 2, entries: 34, trash: 2, deletionBatches: 2, deletionItems: 3 });
    await both(async (source, target) => {
      expect(await contents(target)).toEqual(await contents(source));
    });
  });

  it('refuses a missing source or a source and target of the wrong kinds', async () => {
    const missing = await fos('migrate', '--from', join(dataDir, 'nope'), '--to', db.url);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain('FOS_ERR_CONFIG_INVALID');
    const wrongTarget = await fos('migrate', '--from', dataDir, '--to', `sqlite:${join(dataDir, 'other.db')}`);
    expect(wrongTarget.code).toBe(EXIT.usage);
    const wrongSource = await fos('migrate', '--from', db.url, '--to', db.url);
    expect(wrongSource.code).toBe(EXIT.usage);
    await both(async (_source, target) => {
      expect(await target.listUsers()).toEqual([]);
    });
  });
});
