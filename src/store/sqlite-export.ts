/**
 * Reads every row of a SQLite store, in batches, from one read snapshot: the source side of
 * `fos migrate`. It reads the tables directly because the Store interface hides what a copy
 * must keep (token hashes, commit times, revision counters as they are).
 */
import Database from 'better-sqlite3';
import { FosError } from '../errors.js';
import type { DeletionBatch, DeletionItem, Entry } from '../protocol/types.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import {
  BATCH_COLUMNS,
  ENTRY_COLUMNS,
  ITEM_COLUMNS,
  TOKEN_COLUMNS,
  TRASH_COLUMNS,
  USER_COLUMNS,
  toDeletionBatch,
  toDeletionItem,
  toEntry,
  toTokenRecord,
  toTrashRecord,
  toUserRecord,
} from './sqlite-rows.js';
import type { BatchRow, EntryRow, ItemRow, TokenRow, TrashRow, UserRow } from './sqlite-rows.js';
import type { TokenRecord, TrashRecord, UserRecord } from './types.js';

/** An entry as stored: its owner and commit time besides what the change feed shows. */
export interface EntryRecord extends Entry {
  readonly user: string;
  readonly committedAt: number;
}

/** A user's revision counter and live totals. */
export interface RevRecord {
  readonly user: string;
  readonly rev: number;
  readonly bytes: number;
  readonly files: number;
}

/** A held deletion batch as stored: its owner besides the batch. */
export interface BatchRecord extends DeletionBatch {
  readonly user: string;
}

/** A held item as stored: its owner and batch besides the item. */
export interface ItemRecord extends DeletionItem {
  readonly user: string;
  readonly batch: string;
}

/** Rows of one table; tables come in {@link EXPORT_TABLES} order. */
export type ExportBatch =
  | { readonly table: 'users'; readonly rows: readonly UserRecord[] }
  | { readonly table: 'tokens'; readonly rows: readonly TokenRecord[] }
  | { readonly table: 'revs'; readonly rows: readonly RevRecord[] }
  | { readonly table: 'entries'; readonly rows: readonly EntryRecord[] }
  | { readonly table: 'trash'; readonly rows: readonly TrashRecord[] }
  | { readonly table: 'deletionBatches'; readonly rows: readonly BatchRecord[] }
  | { readonly table: 'deletionItems'; readonly rows: readonly ItemRecord[] };

/** Table names in copy order. */
export const EXPORT_TABLES = ['users', 'tokens', 'revs', 'entries', 'trash', 'deletionBatches', 'deletionItems'] as const;

/** One of {@link EXPORT_TABLES}. */
export type ExportTable = (typeof EXPORT_TABLES)[number];

interface RevRow {
  readonly user: string;
  readonly rev: number;
  readonly bytes: number;
  readonly files: number;
}

interface StoredBatchRow extends BatchRow {
  readonly user: string;
}

interface StoredItemRow extends ItemRow {
  readonly user: string;
  readonly batch: string;
}

interface StoredEntryRow extends EntryRow {
  readonly user: string;
  readonly committed_at: number;
}

/** A read-only view of a SQLite store file, held at one snapshot until `close()`. */
export class SqliteExport {
  readonly #db: Database.Database;
  #closed = false;

  /**
   * Opens `file` read-only and starts a read transaction.
   * @throws FosError `FOS_ERR_STORE_CORRUPT` when the file is not at the schema this fos
   * writes (open it once with `fos user list` to migrate it), `FOS_ERR_STORE_WRITE` when it
   * cannot be opened.
   */
  constructor(file: string) {
    try {
      this.#db = new Database(file, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new FosError('FOS_ERR_STORE_WRITE', `cannot open ${file}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    try {
      const version = Number(this.#db.pragma('user_version', { simple: true }));
      const latest = SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
      if (version !== latest) {
        throw new FosError('FOS_ERR_STORE_CORRUPT', `${file} has schema version ${version}, this fos copies version ${latest}`);
      }
      // One snapshot for every table, even if a server still writes to the file.
      this.#db.exec('BEGIN');
      this.#db.prepare('SELECT 1 FROM users LIMIT 1').get();
    } catch (err) {
      this.#db.close();
      if (err instanceof FosError) throw err;
      throw new FosError('FOS_ERR_STORE_CORRUPT', `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }

  /** Every row of every table, `batchRows` at a time, tables in {@link EXPORT_TABLES} order. */
  *batches(batchRows = 1000): Generator<ExportBatch> {
    for (const rows of this.#read<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`, batchRows)) {
      yield { table: 'users', rows: rows.map(toUserRecord) };
    }
    for (const rows of this.#read<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY id`, batchRows)) {
      yield { table: 'tokens', rows: rows.map(toTokenRecord) };
    }
    for (const rows of this.#read<RevRow>('SELECT user, rev, bytes, files FROM revs ORDER BY user', batchRows)) {
      yield { table: 'revs', rows };
    }
    const entrySql = `SELECT user, committed_at, ${ENTRY_COLUMNS} FROM entries ORDER BY user, path`;
    for (const rows of this.#read<StoredEntryRow>(entrySql, batchRows)) {
      yield {
        table: 'entries',
        rows: rows.map((row) => ({ ...toEntry(row), user: row.user, committedAt: row.committed_at })),
      };
    }
    for (const rows of this.#read<TrashRow>(`SELECT ${TRASH_COLUMNS} FROM trash ORDER BY id`, batchRows)) {
      yield { table: 'trash', rows: rows.map(toTrashRecord) };
    }
    for (const rows of this.#read<StoredBatchRow>(`SELECT user, ${BATCH_COLUMNS} FROM deletion_batches ORDER BY id`, batchRows)) {
      yield { table: 'deletionBatches', rows: rows.map((row) => ({ ...toDeletionBatch(row), user: row.user })) };
    }
    const itemSql = `SELECT user, batch, ${ITEM_COLUMNS} FROM deletion_items ORDER BY batch, path`;
    for (const rows of this.#read<StoredItemRow>(itemSql, batchRows)) {
      yield { table: 'deletionItems', rows: rows.map((row) => ({ ...toDeletionItem(row), user: row.user, batch: row.batch })) };
    }
  }

  /** Ends the read transaction and closes the file; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  *#read<R>(sql: string, batchRows: number): Generator<R[]> {
    let batch: R[] = [];
    for (const row of this.#db.prepare<[], R>(sql).iterate()) {
      batch.push(row);
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }
}
