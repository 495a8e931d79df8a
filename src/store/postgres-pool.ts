/**
 * PostgreSQL connections for the store: a `pg.Pool` whose BIGINT columns arrive as JS
 * numbers, the mapping from driver errors to FosError, and a transaction helper.
 */
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { FosError } from '../errors.js';
import type { FosErrorCode } from '../errors.js';

/** The type id of INT8 (BIGINT) in pg_type. */
const INT8_OID = 20;

/** SQLSTATE codes fos reacts to (PostgreSQL appendix A). */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';

/** Options of {@link createPgPool}. */
export interface PgPoolOptions {
  /** Most connections the pool opens; 10 when absent. */
  readonly maxConnections?: number;
  /** Told about errors of idle connections (the pool drops them and opens new ones). */
  readonly onIdleError?: (err: Error) => void;
  /** Shown in pg_stat_activity; `fos` when absent. */
  readonly applicationName?: string;
}

/**
 * Sizes, revisions and times are BIGINT; node-postgres hands those over as strings so that
 * no precision is lost. fos's values fit in a double, and one that does not is a corrupt row.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new FosError('FOS_ERR_STORE_CORRUPT', `value ${text} does not fit a safe integer`);
  }
  return value;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A pool on `url` (`postgres://user@host:port/db`) that parses BIGINT into numbers.
 * Connecting is lazy: errors appear on the first query.
 */
export function createPgPool(url: string, options: PgPoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'fos',
    types,
  });
  const onIdleError = options.onIdleError;
  // An idle client that loses its connection emits on the pool; without a listener that
  // would crash the process. The pool already discarded the client, so reporting is enough.
  pool.on('error', (err) => onIdleError?.(err));
  return pool;
}

/** The SQLSTATE of a driver error, or undefined. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Wraps a driver error; FosErrors pass through unchanged. */
export function storeError(err: unknown, message: string, code: FosErrorCode = 'FOS_ERR_STORE_WRITE'): FosError {
  if (err instanceof FosError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new FosError(code, `${message}: ${reason}`, { cause: err });
}

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled client; rolls back when it throws.
 * A client whose connection failed is destroyed rather than returned to the pool.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client whose connection drops emits 'error' besides failing its query;
  // unheard, that event would crash the process.
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (broken === undefined) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
      }
      throw err;
    }
  } finally {
    client.removeListener('error', onError);
    client.release(broken ?? false);
  }
}
