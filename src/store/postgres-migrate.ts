/**
 * Applies the PostgreSQL schema steps. Each step runs in its own transaction that first
 * takes a transaction-scoped advisory lock, so several nodes starting at once apply every
 * step exactly once: the others wait, then see it recorded in `schema_migrations`.
 */
import type { Pool, PoolClient } from 'pg';
import { FosError } from '../errors.js';
import type { Migration } from './migrations/sqlite.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { inTransaction, storeError } from './postgres-pool.js';

/**
 * Advisory lock keys are (namespace, key) pairs of 32-bit integers; this namespace is
 * fos's ('fos' in ASCII), and key 0 in it is the migration lock.
 */
export const FOS_LOCK_NAMESPACE = 0x666f73;
const MIGRATION_LOCK_KEY = 0;

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at BIGINT NOT NULL
  )`;

async function appliedVersions(client: PoolClient): Promise<Set<number>> {
  const result = await client.query<{ version: unknown }>('SELECT version FROM schema_migrations');
  const versions = new Set<number>();
  for (const row of result.rows) {
    if (typeof row.version !== 'number') {
      throw new FosError('FOS_ERR_STORE_CORRUPT', 'schema_migrations holds a version that is not a number');
    }
    versions.add(row.version);
  }
  return versions;
}

/** Takes the migration lock and returns the versions already applied, creating the table. */
async function lockAndRead(client: PoolClient): Promise<Set<number>> {
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [FOS_LOCK_NAMESPACE, MIGRATION_LOCK_KEY]);
  await client.query(CREATE_MIGRATIONS_TABLE);
  return appliedVersions(client);
}

/**
 * Brings the database up to the newest step; idempotent and safe to run from several
 * processes at once.
 * @throws FosError `FOS_ERR_STORE_CORRUPT` when the database holds a step this version of
 * fos does not know (it was written by a newer fos), `FOS_ERR_STORE_WRITE` when a step fails.
 */
export async function migratePostgres(
  pool: Pool,
  now: () => number = Date.now,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<void> {
  const known = new Set(migrations.map((m) => m.version));
  try {
    const applied = await inTransaction(pool, lockAndRead);
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new FosError(
        'FOS_ERR_STORE_CORRUPT',
        `the database has schema step ${Math.max(...unknown)}, newer than this fos knows; upgrade fos`,
      );
    }
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await inTransaction(pool, async (client) => {
        // Another node may have applied the step while this one waited for the lock.
        const current = await lockAndRead(client);
        if (current.has(migration.version)) return;
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          migration.version,
          now(),
        ]);
      });
    }
  } catch (err) {
    throw storeError(err, 'cannot migrate the PostgreSQL schema');
  }
}
