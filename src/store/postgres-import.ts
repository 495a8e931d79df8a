/**
 * Loads exported store rows into a PostgreSQL store in one transaction: the target side of
 * `fos migrate`. Either every row arrives or none does.
 */
import type { Pool, PoolClient } from 'pg';
import { FosError } from '../errors.js';
import { parentPath } from './changes.js';
import { inTransaction, storeError } from './postgres-pool.js';
import type { ExportBatch, ExportTable } from './sqlite-export.js';

/** Rows copied per table (the tables of `EXPORT_TABLES`). */
export type ImportCounts = Record<ExportTable, number>;

/** Options of {@link importIntoPostgres}. */
export interface ImportOptions {
  /** Replace whatever the target holds; without it a non-empty target is refused. */
  readonly force: boolean;
}

const DATA_TABLES = 'users, tokens, revs, entries, trash, deletion_batches, deletion_items';

const INSERT: Record<ExportTable, string> = {
  users: `INSERT INTO users (name, password_hash, created_at, quota_bytes, quota_files)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])`,
  tokens: `INSERT INTO tokens (id, user_name, device, token_hash, created_at, last_used_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])`,
  revs: `INSERT INTO revs (user_name, rev, bytes, files)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])`,
  entries: `INSERT INTO entries (user_name, path, parent, kind, size, mtime_ms, sha256, rev, deleted, committed_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::float8[], $7::text[],
      $8::bigint[], $9::boolean[], $10::bigint[])`,
  trash: `INSERT INTO trash (id, user_name, path, size, mtime_ms, sha256, rev, valid_from, trashed_at, stored_as)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::float8[], $6::text[], $7::bigint[],
      $8::bigint[], $9::bigint[], $10::text[])`,
  deletionBatches: `INSERT INTO deletion_batches (id, user_name, device, folder, side, state, created_at, resolved_at, item_count,
      bytes, commit_rev, successor, items_key)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
      $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::text[])`,
  deletionItems: `INSERT INTO deletion_items (user_name, batch, path, kind, rev, size, sha256)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])`,
};

type Column = readonly (string | number | boolean | null)[];

/** The batch as one array per column, in the order of its INSERT. */
function columns(batch: ExportBatch): Column[] {
  switch (batch.table) {
    case 'users': {
      const r = batch.rows;
      return [r.map((u) => u.name), r.map((u) => u.passwordHash), r.map((u) => u.createdAt), r.map((u) => u.quotaBytes), r.map((u) => u.quotaFiles)];
    }
    case 'tokens': {
      const r = batch.rows;
      return [r.map((t) => t.id), r.map((t) => t.user), r.map((t) => t.device), r.map((t) => t.tokenHash), r.map((t) => t.createdAt), r.map((t) => t.lastUsedAt)];
    }
    case 'revs': {
      const r = batch.rows;
      return [r.map((v) => v.user), r.map((v) => v.rev), r.map((v) => v.bytes), r.map((v) => v.files)];
    }
    case 'entries': {
      const r = batch.rows;
      return [
        r.map((e) => e.user),
        r.map((e) => e.path),
        r.map((e) => parentPath(e.path)),
        r.map((e) => e.kind),
        r.map((e) => e.size),
        r.map((e) => e.mtimeMs),
        r.map((e) => e.sha256),
        r.map((e) => e.rev),
        r.map((e) => e.deleted),
        r.map((e) => e.committedAt),
      ];
    }
    case 'trash': {
      const r = batch.rows;
      return [
        r.map((t) => t.id),
        r.map((t) => t.user),
        r.map((t) => t.path),
        r.map((t) => t.size),
        r.map((t) => t.mtimeMs),
        r.map((t) => t.sha256),
        r.map((t) => t.rev),
        r.map((t) => t.validFrom),
        r.map((t) => t.trashedAt),
        r.map((t) => t.storedAs),
      ];
    }
    case 'deletionBatches': {
      const r = batch.rows;
      return [
        r.map((b) => b.id),
        r.map((b) => b.user),
        r.map((b) => b.device),
        r.map((b) => b.folder),
        r.map((b) => b.side),
        r.map((b) => b.state),
        r.map((b) => b.createdAt),
        r.map((b) => b.resolvedAt),
        r.map((b) => b.count),
        r.map((b) => b.bytes),
        r.map((b) => b.commitRev),
        r.map((b) => b.successor),
        r.map((b) => b.itemsKey),
      ];
    }
    case 'deletionItems': {
      const r = batch.rows;
      return [r.map((i) => i.user), r.map((i) => i.batch), r.map((i) => i.path), r.map((i) => i.kind), r.map((i) => i.rev), r.map((i) => i.size), r.map((i) => i.sha256)];
    }
    default: {
      const never: never = batch;
      return never;
    }
  }
}

async function isEmpty(client: PoolClient): Promise<boolean> {
  const result = await client.query<{ found: unknown }>(
    `SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM tokens) OR EXISTS (SELECT 1 FROM revs)
       OR EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM trash) OR EXISTS (SELECT 1 FROM deletion_batches) AS found`,
  );
  return result.rows[0]?.found === false;
}

/**
 * Copies `batches` into the migrated PostgreSQL database behind `pool`, in one transaction
 * that locks the tables against every other writer.
 * @throws FosError `FOS_ERR_STORE_HELD` when the target holds data and `force` is not set,
 * `FOS_ERR_STORE_WRITE` when a row cannot be written (nothing is kept then).
 */
export async function importIntoPostgres(
  pool: Pool,
  batches: Iterable<ExportBatch>,
  options: ImportOptions,
): Promise<ImportCounts> {
  const counts: ImportCounts = { users: 0, tokens: 0, revs: 0, entries: 0, trash: 0, deletionBatches: 0, deletionItems: 0 };
  try {
    return await inTransaction(pool, async (client) => {
      // Servers still running on the target would interleave their writes with the copy.
      await client.query(`LOCK TABLE ${DATA_TABLES} IN ACCESS EXCLUSIVE MODE`);
      if (!(await isEmpty(client))) {
        if (!options.force) {
          throw new FosError('FOS_ERR_STORE_HELD', 'the target store is not empty; pass --force to replace what it holds');
        }
        await client.query(`TRUNCATE ${DATA_TABLES}`);
      }
      for (const batch of batches) {
        await client.query(INSERT[batch.table], columns(batch));
        counts[batch.table] += batch.rows.length;
      }
      return counts;
    });
  } catch (err) {
    throw storeError(err, 'cannot copy into PostgreSQL');
  }
}
