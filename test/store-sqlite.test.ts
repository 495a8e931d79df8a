import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FosError } from '../src/errors.js';
import { SQLITE_MIGRATIONS } from '../src/store/migrations/sqlite.js';
import { DB_FILE, SqliteStore, openSqliteStore } from '../src/store/sqlite.js';
import { describeStoreContract, file } from './store-contract.js';

describeStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fos-store-'));
  const store = await openSqliteStore(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteStore specifics', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fos-sqlite-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function failure(promise: Promise<unknown>): Promise<FosError> {
    try {
      await promise;
    } catch (err) {
      if (err instanceof FosError) return err;
      throw err;
    }
    throw new Error('resolved');
  }

  it('creates the data folder and an owner-only fos.db in WAL mode at the latest schema', async () => {
    const data = join(dir, 'nested', 'data');
    const store = await openSqliteStore(data);
    await store.close();
    const raw = new Database(join(data, DB_FILE), { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.at(-1)?.version);
      const tables = raw.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
      expect(tables.map((t) => t.name)).toEqual(['deletion_batches', 'deletion_items', 'entries', 'revs', 'tokens', 'trash', 'users']);
    } finally {
      raw.close();
    }
    if (process.platform !== 'win32') expect((await stat(join(data, DB_FILE))).mode & 0o077).toBe(0);
  });

  it('migration versions are 1, 2, 3, ... in order', () => {
    expect(SQLITE_MIGRATIONS.map((m) => m.version)).toEqual(SQLITE_MIGRATIONS.map((_m, i) => i + 1));
  });

  it('keeps data across a reopen', async () => {
    const first = await openSqliteStore(dir);
    await first.createUser('alice', 'h', 1);
    await first.commit('alice', [file('a.txt', 5)], 1);
    await first.close();
    const second = await openSqliteStore(dir);
    try {
      expect(await second.currentRev('alice')).toBe(1);
      expect(await second.getEntry('alice', 'a.txt')).toMatchObject({ size: 5 });
      expect(await second.usage('alice')).toEqual({ bytes: 5, files: 1 });
      expect(second.schemaVersion()).toBe(SQLITE_MIGRATIONS.length);
    } finally {
      await second.close();
    }
  });

  it('a garbage fos.db is STORE_CORRUPT with a clear message', async () => {
    await writeFile(join(dir, DB_FILE), Buffer.from('this is not a database at all, just some bytes '.repeat(100)));
    const err = await failure(openSqliteStore(dir));
    expect(err.code).toBe('FOS_ERR_STORE_CORRUPT');
    expect(err.message).toContain(DB_FILE);
    expect(err.message).toMatch(/damaged or not a fos database/u);
  });

  it('a SQLite file of another program is STORE_CORRUPT, and left unchanged', async () => {
    const other = new Database(join(dir, DB_FILE));
    other.exec('CREATE TABLE notes (body TEXT)');
    other.close();
    const err = await failure(openSqliteStore(dir));
    expect(err.code).toBe('FOS_ERR_STORE_CORRUPT');
    expect(err.message).toMatch(/not one of fos's/u);
    const check = new Database(join(dir, DB_FILE), { readonly: true });
    expect(check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get()).toEqual({ n: 1 });
    check.close();
  });

  it('a schema newer than this fos is refused', async () => {
    const store = await openSqliteStore(dir);
    await store.close();
    const raw = new Database(join(dir, DB_FILE));
    raw.pragma('user_version = 99');
    raw.close();
    const err = await failure(openSqliteStore(dir));
    expect(err.code).toBe('FOS_ERR_STORE_CORRUPT');
    expect(err.message).toMatch(/newer than this fos/u);
  });

  it('applies pending steps only, each in a transaction: a failing step leaves the earlier ones', async () => {
    const steps = [
      { version: 1, sql: 'CREATE TABLE one (x INTEGER) STRICT;' },
      { version: 2, sql: 'CREATE TABLE two (x INTEGER) STRICT; INSERT INTO missing VALUES (1);' },
    ];
    const store = new SqliteStore(join(dir, DB_FILE), { migrations: steps });
    const err = await failure(store.migrate());
    expect(err.code).toBe('FOS_ERR_STORE_WRITE');
    expect(store.schemaVersion()).toBe(1);
    await store.close();
    const raw = new Database(join(dir, DB_FILE), { readonly: true });
    const names = raw.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    raw.close();
    expect(names.map((n) => n.name)).toEqual(['one']);
  });

  it('driver errors come out as FosError with the driver error as cause', async () => {
    const store = await openSqliteStore(dir);
    try {
      await store.createUser('alice', 'h', 1);
      const err = await failure(store.createUser('alice', 'h', 1));
      expect(err.code).toBe('FOS_ERR_STORE_USER_EXISTS');
      expect(err.cause).toBeInstanceOf(Database.SqliteError);
    } finally {
      await store.close();
    }
  });

  it('an unwritable data folder is STORE_WRITE', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const err = await failure(openSqliteStore(join(dir, 'file', 'data')));
    expect(err.code).toBe('FOS_ERR_STORE_WRITE');
  });

  it('commits 10,000 small files one commit each', async () => {
    const store = await openSqliteStore(dir);
    try {
      await store.createUser('alice', 'h', 1);
      for (let i = 0; i < 10_000; i += 1) {
        await store.commit('alice', [file(`d${i % 50}/f${i}.txt`, 10)], i);
      }
      expect(await store.currentRev('alice')).toBe(10_000);
      expect(await store.usage('alice')).toEqual({ bytes: 100_000, files: 10_000 });
      expect(await store.listEntries('alice', { prefix: 'd7', recursive: false })).toHaveLength(200);
    } finally {
      await store.close();
    }
  });
});
