/**
 * Throw-away PostgreSQL databases for tests: each test file creates its own database on
 * the server named by `FOS_TEST_PG_URL` (the local server by default) and drops it after.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A maintenance database URL on the server the tests use. */
export const PG_ADMIN_URL = process.env['FOS_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database made for one test file. */
export interface TestDatabase {
  readonly name: string;
  /** Connection string of the new database. */
  readonly url: string;
  /** Ends every connection to it and drops it; idempotent. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates `fos_test_<random>` and returns its URL. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `fos_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    drop() {
      dropping ??= admin(async (client) => {
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
      return dropping;
    },
  };
}
