import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosError } from '../src/errors.js';
import type { FosErrorCode } from '../src/errors.js';
import { POSTGRES_MIGRATIONS } from '../src/store/migrations/postgres.js';
import { PostgresStore, openPostgresStore } from '../src/store/postgres.js';
import { redactUrl } from '../src/store/redact-url.js';
import { describeStoreContract, file } from './store-contract.js';
import { createTestDatabase } from './support/postgres.js';
import type { TestDatabase } from './support/postgres.js';

const TABLES = ['deletion_batches', 'deletion_items', 'entries', 'revs', 'schema_migrations', 'tokens', 'trash', 'users'];

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

describeStoreContract('postgres', async () => {
  const store = await openPostgresStore(db.url);
  // One database per file: each test starts from empty tables.
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query('TRUNCATE users, tokens, entries, revs, trash, deletion_batches, deletion_items');
  } finally {
    await admin.end();
  }
  return { store, cleanup: () => store.close() };
});

async function codeOf(promise: Promise<unknown>): Promise<FosErrorCode | 'resolved'> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FosError) return err.code;
    throw err;
  }
  return 'resolved';
}

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `check` until it holds; fails after `attempts` tries. */
async function until(check: () => Promise<boolean>, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts; i += 1) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}

describe('PostgresStore specifics', () => {
  describe('migrations', () => {
    let fresh: TestDatabase;

    beforeAll(async () => {
      fresh = await createTestDatabase();
    });

    afterAll(async () => {
      await fresh.drop();
    });

    it('migration versions are 1, 2, 3, ... in order', () => {
      expect(POSTGRES_MIGRATIONS.map((m) => m.version)).toEqual(POSTGRES_MIGRATIONS.map((_m, i) => i + 1));
    });

    it('several nodes migrating one empty database at once apply each step exactly once', async () => {
      const stores = Array.from({ length: 6 }, () => new PostgresStore(fresh.url));
      try {
        await Promise.all(stores.map((s) => s.migrate()));
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      const tables = await query<{ tablename: string }>(
        fresh.url,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      );
      expect(tables.map((t) => t.tablename)).toEqual(TABLES);
      const versions = await query<{ version: number }>(fresh.url, 'SELECT version FROM schema_migrations ORDER BY version');
      expect(versions.map((v) => v.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    });

    it('a schema newer than this fos is refused', async () => {
      await query(fresh.url, 'INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)');
      try {
        const store = new PostgresStore(fresh.url);
        const err = await store.migrate().catch((e: unknown) => e);
        await store.close();
        expect(err).toBeInstanceOf(FosError);
        expect((err as FosError).code).toBe('FOS_ERR_STORE_CORRUPT');
        expect((err as FosError).message).toMatch(/newer than this fos/u);
      } finally {
        await query(fresh.url, 'DELETE FROM schema_migrations WHERE version = 99');
      }
    });

    it('applies pending steps only, each in a transaction: a failing step leaves the earlier ones', async () => {
      const other = await createTestDatabase();
      try {
        const steps = [
          { version: 1, sql: 'CREATE TABLE one (x INTEGER);' },
          { version: 2, sql: 'CREATE TABLE two (x INTEGER); INSERT INTO missing VALUES (1);' },
        ];
        const store = new PostgresStore(other.url, { migrations: steps });
        expect(await codeOf(store.migrate())).toBe('FOS_ERR_STORE_WRITE');
        await store.close();
        const tables = await query<{ tablename: string }>(
          other.url,
          "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
        );
        expect(tables.map((t) => t.tablename)).toEqual(['one', 'schema_migrations']);
        const versions = await query<{ version: number }>(other.url, 'SELECT version FROM schema_migrations');
        expect(versions.map((v) => v.version)).toEqual([1]);
      } finally {
        await other.drop();
      }
    });
  });

  it('an unreachable server is STORE_WRITE, and the message hides the password', async () => {
    const url = 'postgres://fos:secret-pw@127.0.0.1:1/fos';
    const err = await openPostgresStore(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FosError);
    expect((err as FosError).code).toBe('FOS_ERR_STORE_WRITE');
    expect((err as FosError).message).not.toContain('secret-pw');
    expect(redactUrl(url)).toBe('postgres://fos:***@127.0.0.1:1/fos');
  });

  describe('on a shared database', () => {
    let nodes: PostgresStore[] = [];

    beforeAll(async () => {
      const first = await openPostgresStore(db.url);
      nodes = [first, ...(await Promise.all(Array.from({ length: 7 }, () => openPostgresStore(db.url))))];
    });

    afterAll(async () => {
      await Promise.all(nodes.map((n) => n.close()));
    });

    function node(i: number): PostgresStore {
      const n = nodes[i];
      if (n === undefined) throw new Error(`no node ${i}`);
      return n;
    }

    it('keeps sizes up to 2^53 - 1 and fractional mtimes exactly', async () => {
      await node(0).createUser('big', 'h', Number.MAX_SAFE_INTEGER);
      const size = Number.MAX_SAFE_INTEGER;
      await node(0).commit('big', [file('huge', size, 'c'.repeat(64), 1_700_000_000_123.456)], 1);
      expect(await node(1).getEntry('big', 'huge')).toMatchObject({ size, mtimeMs: 1_700_000_000_123.456 });
      expect(await node(1).usage('big')).toEqual({ bytes: size, files: 1 });
      expect((await node(1).getUser('big'))?.createdAt).toBe(Number.MAX_SAFE_INTEGER);
    });

    it('8 nodes x 200 concurrent commits on one user take revisions 1..1600, none lost or repeated', async () => {
      await node(0).createUser('race', 'h', 1);
      const perNode = 200;
      const results = await Promise.all(
        nodes.map(async (n, i) => {
          const revs: number[] = [];
          for (let c = 0; c < perNode; c += 1) {
            const [entry] = await n.commit('race', [file(`n${i}/c${c}`, 1)], c);
            revs.push(entry?.rev ?? -1);
          }
          return revs;
        }),
      );
      const total = nodes.length * perNode;
      const all = results.flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: total }, (_v, i) => i + 1));
      for (const revs of results) expect(revs).toEqual([...revs].sort((a, b) => a - b));
      expect(await node(3).currentRev('race')).toBe(total);
      const feed = await node(5).changesSince('race', 0);
      expect(feed.map((e) => e.rev)).toEqual(Array.from({ length: total }, (_v, i) => i + 1));
      expect(await node(7).usage('race')).toEqual({ bytes: total, files: total });
    });

    it('withUserLock excludes across nodes: read-check-commit on 8 nodes loses no update', async () => {
      await node(0).createUser('locked', 'h', 1);
      await node(0).commit('locked', [file('counter', 0)], 1);
      let inside = 0;
      let most = 0;
      const rounds = 10;
      await Promise.all(
        nodes.map(async (n) => {
          for (let r = 0; r < rounds; r += 1) {
            await n.withUserLock('locked', async () => {
              inside += 1;
              most = Math.max(most, inside);
              const current = await n.getEntry('locked', 'counter');
              await new Promise((resolve) => setImmediate(resolve));
              await n.commit('locked', [file('counter', (current?.size ?? 0) + 1)], 1);
              inside -= 1;
            });
          }
        }),
      );
      expect(most).toBe(1);
      expect((await node(0).getEntry('locked', 'counter'))?.size).toBe(nodes.length * rounds);
    });

    it('a node waits in the database for another node’s lock and runs once it is released', async () => {
      const events: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let entered!: () => void;
      const firstIn = new Promise<void>((r) => {
        entered = r;
      });
      const first = node(0).withUserLock('gated', async () => {
        events.push('first:start');
        entered();
        await gate;
        events.push('first:end');
      });
      await firstIn;
      const second = node(1).withUserLock('gated', async () => {
        events.push('second:start');
      });
      // The second node is blocked on the advisory lock once PostgreSQL shows it waiting.
      await until(async () => {
        const rows = await query<{ n: string }>(
          db.url,
          "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        );
        return rows[0]?.n === '1';
      });
      expect(events).toEqual(['first:start']);
      release();
      await Promise.all([first, second]);
      expect(events).toEqual(['first:start', 'first:end', 'second:start']);
    });

    it('a lock whose holder’s connection dies is released', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let entered!: () => void;
      const firstIn = new Promise<void>((r) => {
        entered = r;
      });
      const first = node(2).withUserLock('dying', async () => {
        entered();
        await gate;
      });
      await firstIn;
      await query(
        db.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fos-locks' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
      );
      expect(await node(3).withUserLock('dying', async () => 'ran')).toBe('ran');
      release();
      await first;
      expect(await node(2).withUserLock('dying', async () => 'again')).toBe('again');
    });
  });
});
