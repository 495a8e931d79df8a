import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSharedHub, Inbox } from '../../../test/support/notice-hub-contract.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createPgPool } from '../../store/postgres-pool.js';
import { createPgNoticeHub } from './pg-hub.js';

let db: TestDatabase;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db.drop();
});

/** Each hub gets a pool of its own, as each server node would. */
function nodePool(): pg.Pool {
  const pool = createPgPool(db.url, { maxConnections: 3 });
  pools.push(pool);
  return pool;
}

describeSharedHub('postgres', () => createPgNoticeHub(nodePool()));

describe('createPgNoticeHub', () => {
  it('cuts the path list of a notice too large for NOTIFY and keeps the revision', async () => {
    const one = createPgNoticeHub(nodePool());
    const two = createPgNoticeHub(nodePool());
    try {
      const inbox = new Inbox();
      two.subscribe('ivan', inbox.listener);
      await two.settled();
      const paths = Array.from({ length: 500 }, (_v, i) => `folder/${'x'.repeat(40)}-${i}.txt`);
      one.publish('ivan', 77, paths);
      const [notice] = await inbox.waitFor(1);
      expect(notice?.rev).toBe(77);
      expect(notice?.paths.length).toBeGreaterThan(0);
      expect(notice?.paths.length).toBeLessThan(paths.length);
      expect(notice?.paths).toEqual(paths.slice(0, notice?.paths.length));
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('listens again after its connection is killed', async () => {
    const errors: unknown[] = [];
    const one = createPgNoticeHub(nodePool());
    const two = createPgNoticeHub(nodePool(), { onError: (err) => errors.push(err) });
    try {
      const inbox = new Inbox();
      two.subscribe('judy', inbox.listener);
      await two.settled();
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        const killed = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
          [db.name],
        );
        expect(killed.rowCount).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      // Notices sent while no connection listens are lost (they are hints); keep sending
      // until the hub is back.
      const deadline = Date.now() + 15_000;
      let rev = 0;
      while (inbox.notices.length === 0 && Date.now() < deadline) {
        rev += 1;
        one.publish('judy', rev, []);
        await inbox.waitFor(1, 200).catch(() => undefined);
      }
      expect(inbox.notices.length).toBeGreaterThan(0);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
