/**
 * The metadata store for several server nodes: PostgreSQL through a `pg.Pool`, with the
 * same schema meaning and the same answers as the SQLite store (DESIGN.md "Growing past
 * one machine"). Revisions come from a row lock on the user's counter, and the per-user
 * write lock is a PostgreSQL advisory lock, so both hold across every node.
 */
import type { Pool, PoolClient, QueryResult } from 'pg';
import { FosError } from '../errors.js';
import type { Account, DeletionBatch, DeletionItem, Entry, TokenInfo } from '../protocol/types.js';
import { checkChanges, parentPath, subtreeRange } from './changes.js';
import { checkDeletionBatch, matchesBatchFilter } from './deletion-batches.js';
import type { Migration } from './migrations/sqlite.js';
import { PgUserLocks } from './postgres-lock.js';
import { importIntoPostgres } from './postgres-import.js';
import type { ImportCounts, ImportOptions } from './postgres-import.js';
import { migratePostgres } from './postgres-migrate.js';
import { PG_UNIQUE_VIOLATION, createPgPool, inTransaction, sqlState, storeError } from './postgres-pool.js';
import { toAccount, toCommittedEntry, toDeletionBatch, toDeletionItem, toEntry, toTokenInfo, toTokenRecord, toTrashRecord, toUserRecord } from './postgres-rows.js';
import type { Row } from './postgres-rows.js';
import { SQL } from './postgres-sql.js';
import type { ExportBatch } from './sqlite-export.js';
import type { NamedSql } from './postgres-sql.js';
import { redactUrl } from './redact-url.js';
import type {
  AccountPatch,
  BatchFilter,
  BatchResolution,
  Change,
  CommittedEntry,
  ListOptions,
  Store,
  TokenRecord,
  TrashRecord,
  Usage,
  UserRecord,
} from './types.js';

/** Options of {@link PostgresStore} and {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** Connections for queries and commits; 10 when absent. */
  readonly maxConnections?: number;
  /** Connections that hold user locks, so at most this many users are locked at once; 4 when absent. */
  readonly lockConnections?: number;
  /** Told about errors of idle connections, which the pools replace on their own. */
  readonly onIdleError?: (err: Error) => void;
  /** Schema steps to apply; the real schema by default (tests pass other lists). */
  readonly migrations?: readonly Migration[];
}

/** A statement: named ones are prepared once per connection, unnamed ones each time. */
type Statement = NamedSql | { readonly text: string };

type Param = string | number | boolean | null | readonly (string | number | boolean)[];


/** The Store over PostgreSQL. Create it with {@link openPostgresStore}. */
export class PostgresStore implements Store {
  /** The connection string with any password hidden. */
  readonly url: string;
  readonly #pool: Pool;
  readonly #lockPool: Pool;
  readonly #locks: PgUserLocks;
  readonly #migrations: readonly Migration[] | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Makes the pools; connecting is lazy. Call `migrate()` before use, or use
   * {@link openPostgresStore}, which does both.
   */
  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.url = redactUrl(url);
    const onIdleError = options.onIdleError;
    const common = onIdleError === undefined ? {} : { onIdleError };
    this.#pool = createPgPool(url, { ...common, maxConnections: options.maxConnections ?? 10 });
    this.#lockPool = createPgPool(url, {
      ...common,
      maxConnections: options.lockConnections ?? 4,
      applicationName: 'fos-locks',
    });
    this.#locks = new PgUserLocks(this.#lockPool);
    this.#migrations = options.migrations;
  }

  async migrate(): Promise<void> {
    this.#open();
    await migratePostgres(this.#pool, Date.now, this.#migrations);
  }

  async createUser(name: string, passwordHash: string, now: number): Promise<void> {
    try {
      await this.#run(SQL.insertUser, [name, passwordHash, now]);
    } catch (err) {
      if (sqlState(err) === PG_UNIQUE_VIOLATION) {
        throw new FosError('FOS_ERR_STORE_USER_EXISTS', `user ${JSON.stringify(name)} already exists`, { cause: err });
      }
      throw storeError(err, 'store: cannot create the user');
    }
  }

  async getUser(name: string): Promise<UserRecord | null> {
    const row = await this.#one('read the user', SQL.getUser, [name]);
    return row === undefined ? null : toUserRecord(row);
  }

  async updateUser(name: string, patch: AccountPatch): Promise<void> {
    const sets: string[] = [];
    const params: Param[] = [name];
    const set = (column: string, value: string | number | null): void => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.passwordHash !== undefined) set('password_hash', patch.passwordHash);
    if (patch.quotaBytes !== undefined) set('quota_bytes', patch.quotaBytes);
    if (patch.quotaFiles !== undefined) set('quota_files', patch.quotaFiles);
    const query: Statement =
      sets.length === 0 ? SQL.userExists : { text: `UPDATE users SET ${sets.join(', ')} WHERE name = $1` };
    const result = await this.#exec('update the user', query, params);
    if (result.rowCount === 0) throw noUser(name);
  }

  async removeUser(name: string): Promise<void> {
    await this.#transaction('remove the user', async (client) => {
      // Deleting the user row first waits for commits holding it FOR SHARE, and makes any
      // later commit for this user find no user.
      const removed = await client.query(SQL.deleteUser.text, [name]);
      if (removed.rowCount === 0) throw noUser(name);
      const statements = [SQL.deleteUserTokens, SQL.deleteUserEntries, SQL.deleteUserRev, SQL.deleteUserTrash, SQL.deleteUserItems, SQL.deleteUserBatches];
      for (const statement of statements) {
        await client.query(statement.text, [name]);
      }
    });
  }

  async listUsers(): Promise<Account[]> {
    return (await this.#rows('list users', SQL.listUsers, [])).map(toAccount);
  }

  async createToken(record: TokenRecord): Promise<void> {
    const r = record;
    const result = await this.#exec('create the token', SQL.insertToken, [
      r.id,
      r.user,
      r.device,
      r.tokenHash,
      r.createdAt,
      r.lastUsedAt,
    ]);
    if (result.rowCount === 0) throw noUser(r.user);
  }

  async findToken(tokenHash: string): Promise<TokenRecord | null> {
    const row = await this.#one('find the token', SQL.findToken, [tokenHash]);
    return row === undefined ? null : toTokenRecord(row);
  }

  async touchToken(id: string, at: number): Promise<void> {
    await this.#exec('touch the token', SQL.touchToken, [at, id]);
  }

  async listTokens(user: string): Promise<TokenInfo[]> {
    return (await this.#rows('list tokens', SQL.listTokens, [user])).map(toTokenInfo);
  }

  async revokeToken(user: string, id: string): Promise<boolean> {
    const result = await this.#exec('revoke the token', SQL.revokeToken, [user, id]);
    return (result.rowCount ?? 0) > 0;
  }

  async getEntry(user: string, path: string): Promise<Entry | null> {
    const row = await this.#one('read the entry', SQL.getEntry, [user, path]);
    return row === undefined ? null : toEntry(row);
  }

  async listEntries(user: string, options: ListOptions): Promise<Entry[]> {
    const { prefix, recursive } = options;
    let rows: Row[];
    if (!recursive) rows = await this.#rows('list entries', SQL.listChildren, [user, prefix]);
    else if (prefix === '') rows = await this.#rows('list entries', SQL.listAll, [user]);
    else {
      const { low, high } = subtreeRange(prefix);
      rows = await this.#rows('list entries', SQL.listSubtree, [user, low, high]);
    }
    return rows.map(toEntry);
  }

  async listCommitted(user: string, path: string): Promise<CommittedEntry[]> {
    if (path === '') return (await this.#rows('list entries', SQL.listCommittedAll, [user])).map(toCommittedEntry);
    const { low, high } = subtreeRange(path);
    return (await this.#rows('list entries', SQL.listCommittedUnder, [user, path, low, high])).map(toCommittedEntry);
  }

  async changesSince(user: string, sinceRev: number): Promise<Entry[]> {
    return (await this.#rows('read changes', SQL.changesSince, [user, sinceRev])).map(toEntry);
  }

  async currentRev(user: string): Promise<number> {
    const row = await this.#one('read the revision', SQL.getCounters, [user]);
    return row === undefined ? 0 : counter(row, 'rev');
  }

  async usage(user: string): Promise<Usage> {
    const row = await this.#one('read usage', SQL.getCounters, [user]);
    return row === undefined ? { bytes: 0, files: 0 } : { bytes: counter(row, 'bytes'), files: counter(row, 'files') };
  }

  async commit(user: string, changes: readonly Change[], now: number): Promise<Entry[]> {
    checkChanges(changes);
    if (changes.length === 0) return [];
    return this.#transaction('commit changes', async (client) => {
      const bumped = await client.query<Row>(SQL.bumpRev, [user]);
      const first = bumped.rows[0];
      if (first === undefined) throw noUser(user);
      const rev = counter(first, 'rev');
      await client.query(SQL.upsertEntries, [
        user,
        rev,
        now,
        changes.map((c) => c.path),
        changes.map((c) => parentPath(c.path)),
        changes.map((c) => c.kind),
        changes.map((c) => c.size),
        changes.map((c) => c.mtimeMs),
        changes.map((c) => c.sha256),
        changes.map((c) => c.deleted),
      ]);
      return changes.map(({ path, kind, size, mtimeMs, sha256, deleted }) => ({
        path,
        kind,
        size,
        mtimeMs,
        sha256,
        rev,
        deleted,
      }));
    });
  }

  async withUserLock<T>(user: string, fn: () => Promise<T>): Promise<T> {
    this.#open();
    return this.#locks.run(user, fn);
  }

  async addTrash(record: TrashRecord): Promise<void> {
    const r = record;
    const result = await this.#exec('add a trash record', SQL.insertTrash, [
      r.id,
      r.user,
      r.path,
      r.size,
      r.mtimeMs,
      r.sha256,
      r.rev,
      r.validFrom,
      r.trashedAt,
      r.storedAs,
    ]);
    if (result.rowCount === 0) throw noUser(r.user);
  }

  async listTrash(user: string, pathPrefix: string): Promise<TrashRecord[]> {
    if (pathPrefix === '') return (await this.#rows('list trash', SQL.listTrashAll, [user])).map(toTrashRecord);
    const { low, high } = subtreeRange(pathPrefix);
    return (await this.#rows('list trash', SQL.listTrashUnder, [user, pathPrefix, low, high])).map(toTrashRecord);
  }

  async listTrashAt(user: string, path: string, at: number): Promise<TrashRecord[]> {
    if (path === '') return (await this.#rows('list trash', SQL.listTrashAtAll, [user, at])).map(toTrashRecord);
    const { low, high } = subtreeRange(path);
    return (await this.#rows('list trash', SQL.listTrashAtUnder, [user, path, low, high, at])).map(toTrashRecord);
  }

  async purgeTrash(before: number): Promise<TrashRecord[]> {
    return (await this.#rows('purge trash', SQL.purgeTrash, [before])).map(toTrashRecord);
  }

  async addDeletionBatch(user: string, batch: DeletionBatch, items: readonly DeletionItem[], replaces: string | null): Promise<void> {
    checkDeletionBatch(batch, items);
    const b = batch;
    await this.#transaction('hold the batch', async (client) => {
      if (replaces !== null) {
        const replaced = await client.query(SQL.resolveBatch.text, ['superseded', b.createdAt, null, b.id, user, replaces]);
        if (replaced.rowCount === 0) throw new FosError('FOS_ERR_STORE_CONFLICT', `batch ${replaces} is no longer held`);
      }
      let inserted;
      try {
        inserted = await client.query(SQL.insertBatch.text, [b.id, user, b.device, b.folder, b.side, b.createdAt, b.count, b.bytes, b.itemsKey, b.state, b.resolvedAt, b.commitRev]);
      } catch (err) {
        // The partial unique index: another batch of this device, folder and side is pending.
        if (sqlState(err) === PG_UNIQUE_VIOLATION && constraintOf(err) === 'deletion_batches_pending') {
          throw new FosError('FOS_ERR_STORE_CONFLICT', `${b.device} already has a pending batch for ${JSON.stringify(b.folder)} (${b.side})`, { cause: err });
        }
        throw err;
      }
      if (inserted.rowCount === 0) throw noUser(user);
      await client.query(SQL.insertItems.text, [
        user,
        b.id,
        items.map((i) => i.path),
        items.map((i) => i.kind),
        items.map((i) => i.rev),
        items.map((i) => i.size),
        items.map((i) => i.sha256),
      ]);
    });
  }

  async getDeletionBatch(user: string, id: string): Promise<DeletionBatch | null> {
    const row = await this.#one('read the batch', SQL.getBatch, [user, id]);
    return row === undefined ? null : toDeletionBatch(row);
  }

  async listDeletionBatches(user: string, filter: BatchFilter): Promise<DeletionBatch[]> {
    return (await this.#rows('list batches', SQL.listBatches, [user])).map(toDeletionBatch).filter((b) => matchesBatchFilter(b, filter));
  }

  async listDeletionItems(user: string, id: string, limit?: number): Promise<DeletionItem[]> {
    return (await this.#rows('list held items', SQL.listItems, [user, id, limit ?? null])).map(toDeletionItem);
  }

  async resolveDeletionBatch(user: string, id: string, resolution: BatchResolution): Promise<boolean> {
    const r = resolution;
    const result = await this.#exec('resolve the batch', SQL.resolveBatch, [r.state, r.resolvedAt, r.commitRev ?? null, null, user, id]);
    return (result.rowCount ?? 0) > 0;
  }

  /**
   * Copies exported rows in (`fos migrate`), in one transaction that locks the tables.
   * @throws FosError `FOS_ERR_STORE_HELD` when the store holds data and `force` is not set,
   * `FOS_ERR_STORE_WRITE` when a row cannot be written (nothing is kept then).
   */
  async importRows(batches: Iterable<ExportBatch>, options: ImportOptions): Promise<ImportCounts> {
    this.#open();
    return importIntoPostgres(this.#pool, batches, options);
  }

  async close(): Promise<void> {
    this.#closing ??= Promise.all([this.#pool.end(), this.#lockPool.end()]).then(
      () => undefined,
      (err: unknown) => {
        throw storeError(err, 'store: cannot close the connections');
      },
    );
    return this.#closing;
  }

  #open(): void {
    if (this.#closing !== undefined) throw new FosError('FOS_ERR_STORE_WRITE', 'the store is closed');
  }

  async #run(statement: Statement, params: readonly Param[]): Promise<QueryResult<Row>> {
    this.#open();
    return this.#pool.query<Row>({ ...statement, values: [...params] });
  }

  async #exec(action: string, statement: Statement, params: readonly Param[]): Promise<QueryResult<Row>> {
    try {
      return await this.#run(statement, params);
    } catch (err) {
      throw storeError(err, `store: cannot ${action}`);
    }
  }

  async #rows(action: string, statement: NamedSql, params: readonly Param[]): Promise<Row[]> {
    return (await this.#exec(action, statement, params)).rows;
  }

  async #one(action: string, statement: NamedSql, params: readonly Param[]): Promise<Row | undefined> {
    return (await this.#rows(action, statement, params))[0];
  }

  async #transaction<T>(action: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    this.#open();
    try {
      return await inTransaction(this.#pool, fn);
    } catch (err) {
      throw storeError(err, `store: cannot ${action}`);
    }
  }
}

function noUser(name: string): FosError {
  return new FosError('FOS_ERR_STORE_NO_USER', `no user ${JSON.stringify(name)}`);
}

/** The constraint a driver error names, or undefined. */
function constraintOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'constraint' in err) {
    const name = (err as { constraint: unknown }).constraint;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

function counter(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== 'number') throw new FosError('FOS_ERR_STORE_CORRUPT', `column ${column} is not a number`);
  return value;
}

/**
 * Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations.
 * @throws FosError `FOS_ERR_STORE_WRITE` when the database cannot be reached or migrated,
 * `FOS_ERR_STORE_CORRUPT` when it holds a newer schema than this fos knows.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = new PostgresStore(url, options);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
