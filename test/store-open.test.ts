import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosError } from '../src/errors.js';
import { describeStore, openStore, parseStoreSpec } from '../src/store/open.js';
import { PostgresStore } from '../src/store/postgres.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { createTestDatabase } from './support/postgres.js';
import type { TestDatabase } from './support/postgres.js';

function failure(fn: () => unknown): FosError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FosError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('store specs', () => {
  let dir: string;
  let db: TestDatabase;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fos-open-'));
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  });

  it('parses data folders, sqlite: files and folders, and PostgreSQL URLs', () => {
    expect(parseStoreSpec({ dataDir: dir })).toEqual({ kind: 'sqlite-dir', dataDir: dir });
    expect(parseStoreSpec({ store: `sqlite:${dir}` })).toEqual({ kind: 'sqlite-dir', dataDir: dir });
    expect(parseStoreSpec({ store: `sqlite:${join(dir, 'x.db')}`, dataDir: '/elsewhere' })).toEqual({
      kind: 'sqlite-file',
      file: join(dir, 'x.db'),
    });
    expect(parseStoreSpec({ store: 'postgres://fos@127.0.0.1:5432/fos' })).toEqual({
      kind: 'postgres',
      url: 'postgres://fos@127.0.0.1:5432/fos',
    });
    expect(parseStoreSpec({ store: 'PostgreSQL://fos@db/fos' }).kind).toBe('postgres');
    expect(describeStore(parseStoreSpec({ store: 'postgres://fos:pw@db:5432/fos' }))).toBe('postgres://fos:***@db:5432/fos');
    expect(describeStore(parseStoreSpec({ dataDir: dir }))).toBe(`sqlite:${join(dir, 'fos.db')}`);
  });

  it('refuses no store at all, an empty sqlite: and unknown kinds without showing a password', () => {
    expect(failure(() => parseStoreSpec({})).code).toBe('FOS_ERR_CONFIG_MISSING');
    expect(failure(() => parseStoreSpec({ store: 'sqlite:' })).code).toBe('FOS_ERR_CONFIG_INVALID');
    const err = failure(() => parseStoreSpec({ store: 'mysql://root:hunter2@db/fos' }));
    expect(err.code).toBe('FOS_ERR_CONFIG_INVALID');
    expect(err.message).not.toContain('hunter2');
  });

  it('opens and migrates each kind', async () => {
    const cases = [
      { spec: { dataDir: join(dir, 'data') }, type: SqliteStore },
      { spec: { store: `sqlite:${join(dir, 'named.db')}` }, type: SqliteStore },
      { spec: { store: db.url }, type: PostgresStore },
    ];
    for (const { spec, type } of cases) {
      const store = await openStore(spec);
      try {
        expect(store).toBeInstanceOf(type);
        await store.createUser('alice', 'h', 1);
        expect((await store.getUser('alice'))?.passwordHash).toBe('h');
      } finally {
        await store.close();
      }
    }
    expect((await stat(join(dir, 'data', 'fos.db'))).isFile()).toBe(true);
    expect((await stat(join(dir, 'named.db'))).isFile()).toBe(true);
  });
});
