/**
 * The embedded metadata store: SQLite through better-sqlite3 at `<data>/fos.db`, in WAL
 * mode (DESIGN.md "Server storage"). Single node: the per-user write lock lives in
 * process memory.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FosError, errnoCode } from '../errors.js';
import type { Account, DeletionBatch, DeletionItem, Entry, TokenInfo } from '../protocol/types.js';
import { checkChanges, parentPath, subtreeRange } from './changes.js';
import { checkDeletionBatch, matchesBatchFilter } from './deletion-batches.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import type { Migration } from './migrations/sqlite.js';
import { SqliteStatements } from './sqlite-statements.js';
import { toAccount, toCommittedEntry, toDeletionBatch, toDeletionItem, toEntry, toTokenInfo, toTokenRecord, toTrashRecord, toUserRecord } from './sqlite-rows.js';
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
import { UserLocks } from './user-lock.js';

/** The database file's name inside the data folder. */
export const DB_FILE = 'fos.db';

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock before failing; 5000 by default. */
  readonly busyTimeoutMs?: number;
  /** Schema steps to apply; the real schema by default (tests pass other lists). */
  readonly migrations?: readonly Migration[];
}

const CORRUPT_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_SEQUENCE']);

/** The Store over SQLite. Create it with `openSqliteStore`. */
export class SqliteStore implements Store {
  /** Absolute path of the database file. */
  readonly file: string;
  readonly #db: Database.Database;
  readonly #migrations: readonly Migration[];
  readonly #locks = new UserLocks();
  #statements: SqliteStatements | undefined;
  #closed = false;

  /**
   * Opens (creating if needed) the database file and sets its pragmas; call `migrate()`
   * before use, or use `openSqliteStore`, which does both.
   * @throws FosError `FOS_ERR_STORE_CORRUPT` when the file is not a SQLite database,
   * `FOS_ERR_STORE_WRITE` when it cannot be opened.
   */
  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.file = file;
    this.#migrations = options.migrations ?? SQLITE_MIGRATIONS;
    const isNew = !existsSync(file);
    try {
      this.#db = new Database(file);
    } catch (err) {
      throw this.#wrap(err, 'open the database');
    }
    try {
      // Hashes of passwords and tokens live here: owner-only from the start.
      if (isNew) chmodSync(file, 0o600);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    } catch (err) {
      this.#db.close();
      throw this.#wrap(err, 'open the database');
    }
  }

  /** The schema version recorded in the file (`PRAGMA user_version`). */
  schemaVersion(): number {
    return this.#sync('read the schema version', () => Number(this.#db.pragma('user_version', { simple: true })));
  }

  async migrate(): Promise<void> {
    this.#sync('migrate the schema', () => {
      const latest = this.#migrations.at(-1)?.version ?? 0;
      const current = Number(this.#db.pragma('user_version', { simple: true }));
      if (current > latest) {
        throw new FosError(
          'FOS_ERR_STORE_CORRUPT',
          `${this.file} has schema version ${current}, newer than this fos understands (${latest}); upgrade fos`,
        );
      }
      if (current === 0 && latest > 0) {
        const tables = this.#db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get();
        if ((tables?.n ?? 0) > 0) {
          throw new FosError('FOS_ERR_STORE_CORRUPT', `${this.file} is a SQLite database but not one of fos's`);
        }
      }
      for (const step of this.#migrations) {
        if (step.version <= current) continue;
        // IMMEDIATE takes the write lock first, so two processes opening the same file
        // cannot both apply a step; the version is re-read under the lock.
        this.#db
          .transaction(() => {
            const now = Number(this.#db.pragma('user_version', { simple: true }));
            if (now >= step.version) return;
            this.#db.exec(step.sql);
            this.#db.pragma(`user_version = ${step.version}`);
          })
          .immediate();
      }
    });
  }

  async createUser(name: string, passwordHash: string, now: number): Promise<void> {
    this.#sync('create the user', () => {
      try {
        this.#q.insertUser.run(name, passwordHash, now);
      } catch (err) {
        if (errnoCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new FosError('FOS_ERR_STORE_USER_EXISTS', `user ${JSON.stringify(name)} already exists`, { cause: err });
        }
        throw err;
      }
    });
  }

  async getUser(name: string): Promise<UserRecord | null> {
    return this.#sync('read the user', () => {
      const row = this.#q.getUser.get(name);
      return row === undefined ? null : toUserRecord(row);
    });
  }

  async updateUser(name: string, patch: AccountPatch): Promise<void> {
    this.#sync('update the user', () => {
      this.#db.transaction(() => {
        this.#requireUser(name);
        if (patch.passwordHash !== undefined) this.#q.setPasswordHash.run(patch.passwordHash, name);
        if (patch.quotaBytes !== undefined) this.#q.setQuotaBytes.run(patch.quotaBytes, name);
        if (patch.quotaFiles !== undefined) this.#q.setQuotaFiles.run(patch.quotaFiles, name);
      })();
    });
  }

  async removeUser(name: string): Promise<void> {
    this.#sync('remove the user', () => {
      this.#db.transaction(() => {
        this.#requireUser(name);
        const q = this.#q;
        const statements = [q.deleteUserTokens, q.deleteUserEntries, q.deleteUserRev, q.deleteUserTrash, q.deleteUserItems, q.deleteUserBatches, q.deleteUser];
        for (const statement of statements) {
          statement.run(name);
        }
      })();
    });
  }

  async listUsers(): Promise<Account[]> {
    return this.#sync('list users', () => this.#q.listUsers.all().map(toAccount));
  }

  async createToken(record: TokenRecord): Promise<void> {
    this.#sync('create the token', () => {
      this.#db.transaction(() => {
        this.#requireUser(record.user);
        this.#q.insertToken.run(record.id, record.user, record.device, record.tokenHash, record.createdAt, record.lastUsedAt);
      })();
    });
  }

  async findToken(tokenHash: string): Promise<TokenRecord | null> {
    return this.#sync('find the token', () => {
      const row = this.#q.findToken.get(tokenHash);
      return row === undefined ? null : toTokenRecord(row);
    });
  }

  async touchToken(id: string, at: number): Promise<void> {
    this.#sync('touch the token', () => {
      this.#q.touchToken.run(at, id);
    });
  }

  async listTokens(user: string): Promise<TokenInfo[]> {
    return this.#sync('list tokens', () => this.#q.listTokens.all(user).map(toTokenInfo));
  }

  async revokeToken(user: string, id: string): Promise<boolean> {
    return this.#sync('revoke the token', () => this.#q.revokeToken.run(user, id).changes > 0);
  }

  async getEntry(user: string, path: string): Promise<Entry | null> {
    return this.#sync('read the entry', () => {
      const row = this.#q.getEntry.get(user, path);
      return row === undefined ? null : toEntry(row);
    });
  }

  async listEntries(user: string, options: ListOptions): Promise<Entry[]> {
    return this.#sync('list entries', () => {
      const { prefix, recursive } = options;
      if (!recursive) return this.#q.listChildren.all(user, prefix).map(toEntry);
      if (prefix === '') return this.#q.listAll.all(user).map(toEntry);
      const { low, high } = subtreeRange(prefix);
      return this.#q.listSubtree.all(user, low, high).map(toEntry);
    });
  }

  async listCommitted(user: string, path: string): Promise<CommittedEntry[]> {
    return this.#sync('list entries', () => {
      if (path === '') return this.#q.listCommittedAll.all(user).map(toCommittedEntry);
      const { low, high } = subtreeRange(path);
      return this.#q.listCommittedUnder.all(user, path, user, low, high).map(toCommittedEntry);
    });
  }

  async changesSince(user: string, sinceRev: number): Promise<Entry[]> {
    return this.#sync('read changes', () => this.#q.changesSince.all(user, sinceRev).map(toEntry));
  }

  async currentRev(user: string): Promise<number> {
    return this.#sync('read the revision', () => this.#q.getCounters.get(user)?.rev ?? 0);
  }

  async usage(user: string): Promise<Usage> {
    return this.#sync('read usage', () => {
      const row = this.#q.getCounters.get(user);
      return { bytes: row?.bytes ?? 0, files: row?.files ?? 0 };
    });
  }

  async commit(user: string, changes: readonly Change[], now: number): Promise<Entry[]> {
    checkChanges(changes);
    if (changes.length === 0) return [];
    return this.#sync('commit changes', () =>
      this.#db
        .transaction((): Entry[] => {
          this.#requireUser(user);
          const q = this.#q;
          const bumped = q.bumpRev.get(user);
          if (bumped === undefined) throw new FosError('FOS_ERR_STORE_WRITE', 'revision counter did not advance');
          const rev = bumped.rev;
          let bytes = 0;
          let files = 0;
          const out: Entry[] = [];
          for (const change of changes) {
            const old = q.getEntry.get(user, change.path);
            if (old !== undefined && old.deleted === 0 && old.kind === 'file') {
              bytes -= old.size;
              files -= 1;
            }
            if (!change.deleted && change.kind === 'file') {
              bytes += change.size;
              files += 1;
            }
            const deleted = change.deleted ? 1 : 0;
            const { path, kind, size, mtimeMs, sha256 } = change;
            q.upsertEntry.run(user, path, parentPath(path), kind, size, mtimeMs, sha256, rev, deleted, now);
            out.push({ path, kind, size, mtimeMs, sha256, rev, deleted: change.deleted });
          }
          q.addUsage.run(bytes, files, user);
          return out;
        })
        .immediate(),
    );
  }

  async withUserLock<T>(user: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(user, fn);
  }

  async addTrash(record: TrashRecord): Promise<void> {
    this.#sync('add a trash record', () => {
      this.#db.transaction(() => {
        this.#requireUser(record.user);
        const r = record;
        this.#q.insertTrash.run(r.id, r.user, r.path, r.size, r.mtimeMs, r.sha256, r.rev, r.validFrom, r.trashedAt, r.storedAs);
      })();
    });
  }

  async listTrash(user: string, pathPrefix: string): Promise<TrashRecord[]> {
    return this.#sync('list trash', () => {
      if (pathPrefix === '') return this.#q.listTrashAll.all(user).map(toTrashRecord);
      const { low, high } = subtreeRange(pathPrefix);
      return this.#q.listTrashUnder.all(user, pathPrefix, low, high).map(toTrashRecord);
    });
  }

  async listTrashAt(user: string, path: string, at: number): Promise<TrashRecord[]> {
    return this.#sync('list trash', () => {
      if (path === '') return this.#q.listTrashAtAll.all(user, at, at).map(toTrashRecord);
      const { low, high } = subtreeRange(path);
      return this.#q.listTrashAtUnder.all(user, path, low, high, at, at).map(toTrashRecord);
    });
  }

  async purgeTrash(before: number): Promise<TrashRecord[]> {
    return this.#sync('purge trash', () =>
      this.#db.transaction(() => {
        const rows = this.#q.listTrashBefore.all(before);
        this.#q.deleteTrashBefore.run(before);
        return rows.map(toTrashRecord);
      })(),
    );
  }

  async addDeletionBatch(user: string, batch: DeletionBatch, items: readonly DeletionItem[], replaces: string | null): Promise<void> {
    checkDeletionBatch(batch, items);
    this.#sync('hold the batch', () => {
      this.#db
        .transaction(() => {
          this.#requireUser(user);
          const q = this.#q;
          if (replaces !== null && q.resolveBatch.run('superseded', batch.createdAt, null, batch.id, user, replaces).changes === 0) {
            throw new FosError('FOS_ERR_STORE_CONFLICT', `batch ${replaces} is no longer held`);
          }
          const b = batch;
          try {
            q.insertBatch.run(b.id, user, b.device, b.folder, b.side, b.state, b.createdAt, b.resolvedAt, b.count, b.bytes, b.commitRev, b.itemsKey);
          } catch (err) {
            // The partial unique index: another batch of this device, folder and side is pending.
            if (errnoCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') {
              throw new FosError('FOS_ERR_STORE_CONFLICT', `${b.device} already has a pending batch for ${JSON.stringify(b.folder)} (${b.side})`, { cause: err });
            }
            throw err;
          }
          for (const item of items) q.insertItem.run(user, b.id, item.path, item.kind, item.rev, item.size, item.sha256);
        })
        .immediate();
    });
  }

  async getDeletionBatch(user: string, id: string): Promise<DeletionBatch | null> {
    return this.#sync('read the batch', () => {
      const row = this.#q.getBatch.get(user, id);
      return row === undefined ? null : toDeletionBatch(row);
    });
  }

  async listDeletionBatches(user: string, filter: BatchFilter): Promise<DeletionBatch[]> {
    return this.#sync('list batches', () => this.#q.listBatches.all(user).map(toDeletionBatch).filter((b) => matchesBatchFilter(b, filter)));
  }

  async listDeletionItems(user: string, id: string, limit?: number): Promise<DeletionItem[]> {
    return this.#sync('list held items', () => this.#q.listItems.all(user, id, limit ?? -1).map(toDeletionItem));
  }

  async resolveDeletionBatch(user: string, id: string, resolution: BatchResolution): Promise<boolean> {
    return this.#sync('resolve the batch', () => {
      const r = resolution;
      return this.#q.resolveBatch.run(r.state, r.resolvedAt, r.commitRev ?? null, null, user, id).changes > 0;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sync('close the database', () => {
      this.#db.close();
    });
  }

  get #q(): SqliteStatements {
    if (this.#closed) throw new FosError('FOS_ERR_STORE_WRITE', 'the store is closed');
    this.#statements ??= new SqliteStatements(this.#db);
    return this.#statements;
  }

  #requireUser(name: string): void {
    if (this.#q.userExists.get(name) === undefined) {
      throw new FosError('FOS_ERR_STORE_NO_USER', `no user ${JSON.stringify(name)}`);
    }
  }

  /** Runs driver calls, turning every driver error into a FosError. */
  #sync<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.#wrap(err, action);
    }
  }

  #wrap(err: unknown, action: string): FosError {
    if (err instanceof FosError) return err;
    const code = errnoCode(err);
    const why = err instanceof Error ? err.message : String(err);
    if (code !== undefined && CORRUPT_CODES.has(code)) {
      return new FosError(
        'FOS_ERR_STORE_CORRUPT',
        `${this.file} is damaged or not a fos database (${why}); restore it from a backup or move it aside`,
        { cause: err },
      );
    }
    return new FosError('FOS_ERR_STORE_WRITE', `store: cannot ${action}: ${why}`, { cause: err });
  }
}

/**
 * Creates `dataDir` if needed, opens `<dataDir>/fos.db` and applies pending migrations.
 * @throws FosError `FOS_ERR_STORE_CORRUPT` for a damaged or foreign database file,
 * `FOS_ERR_STORE_WRITE` when the folder or file cannot be created or opened.
 */
export async function openSqliteStore(dataDir: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new FosError('FOS_ERR_STORE_WRITE', `cannot create the data folder ${dataDir}`, { cause: err });
  }
  const store = new SqliteStore(join(dataDir, DB_FILE), options);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
