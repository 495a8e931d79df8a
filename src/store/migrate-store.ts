/**
 * `fos migrate`: moves a server's accounts and metadata from its SQLite store to
 * PostgreSQL, so that several server nodes can share them. Users (bcrypt hashes as they
 * are), device tokens, entries with their revisions and tombstones, revision counters and
 * trash records arrive in one target transaction, or nothing does.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FosError } from '../errors.js';
import { describeStore, openStore, parseStoreSpec } from './open.js';
import type { StoreSpec } from './open.js';
import type { ImportCounts } from './postgres-import.js';
import { openPostgresStore } from './postgres.js';
import { DB_FILE } from './sqlite.js';
import { SqliteExport } from './sqlite-export.js';

/** What a migration copied. */
export interface MigrationReport {
  /** The source, as `sqlite:<file>`. */
  readonly from: string;
  /** The target URL without its password. */
  readonly to: string;
  readonly counts: ImportCounts;
}

/** Options of {@link migrateStore}. */
export interface MigrateStoreOptions {
  /** Replace the target's data; without it a non-empty target is refused. */
  readonly force: boolean;
  /** Rows sent per statement; 1000 when absent. */
  readonly batchRows?: number;
}

/**
 * Copies the SQLite store `from` into the PostgreSQL store `to` (migrating both schemas
 * first). Stop the servers that use either store while it runs.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` for a source that is not SQLite or does not
 * exist, or a target that is not PostgreSQL; `FOS_ERR_STORE_HELD` for a non-empty target
 * without `force`; `FOS_ERR_STORE_*` when either store fails.
 */
export async function migrateStore(from: StoreSpec, to: string, options: MigrateStoreOptions): Promise<MigrationReport> {
  const source = parseStoreSpec(from);
  if (source.kind === 'postgres') {
    throw new FosError('FOS_ERR_CONFIG_INVALID', 'the source must be a SQLite store (sqlite:PATH or a data folder)');
  }
  const target = parseStoreSpec({ store: to });
  if (target.kind !== 'postgres') {
    throw new FosError('FOS_ERR_CONFIG_INVALID', 'the target must be a PostgreSQL URL (postgres://USER@HOST:PORT/DB)');
  }
  const file = source.kind === 'sqlite-dir' ? join(source.dataDir, DB_FILE) : source.file;
  if (!existsSync(file)) throw new FosError('FOS_ERR_CONFIG_INVALID', `no fos store at ${file}`);

  // Bring an older source file up to the schema this fos reads; a no-op when it is current.
  await (await openStore({ store: `sqlite:${file}` })).close();

  const store = await openPostgresStore(target.url);
  try {
    const snapshot = new SqliteExport(file);
    try {
      const counts = await store.importRows(snapshot.batches(options.batchRows ?? 1000), { force: options.force });
      return { from: describeStore(source), to: describeStore(target), counts };
    } finally {
      snapshot.close();
    }
  } finally {
    await store.close();
  }
}
