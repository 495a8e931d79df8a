/**
 * Every SQL statement the SQLite store runs, prepared once per connection and reused:
 * preparing costs more than running a small statement, and a busy server commits
 * thousands of times a minute.
 */
import type Database from 'better-sqlite3';
import { BATCH_COLUMNS, COMMITTED_ENTRY_COLUMNS, ENTRY_COLUMNS, ITEM_COLUMNS, TOKEN_COLUMNS, TRASH_COLUMNS, USER_COLUMNS } from './sqlite-rows.js';
import type { BatchRow, CommittedEntryRow, EntryRow, ItemRow, TokenRow, TrashRow, UserRow } from './sqlite-rows.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;
type Nullable = number | null;

/** The prepared statements of one SQLite connection. */
export class SqliteStatements {
  readonly insertUser: Statement<[string, string, number]>;
  readonly getUser: Statement<[string], UserRow>;
  readonly userExists: Statement<[string], { one: number }>;
  readonly setPasswordHash: Statement<[string, string]>;
  readonly setQuotaBytes: Statement<[Nullable, string]>;
  readonly setQuotaFiles: Statement<[Nullable, string]>;
  readonly listUsers: Statement<[], UserRow>;
  readonly deleteUser: Statement<[string]>;
  readonly deleteUserTokens: Statement<[string]>;
  readonly deleteUserEntries: Statement<[string]>;
  readonly deleteUserRev: Statement<[string]>;
  readonly deleteUserTrash: Statement<[string]>;
  readonly deleteUserBatches: Statement<[string]>;
  readonly deleteUserItems: Statement<[string]>;

  readonly insertToken: Statement<[string, string, string, string, number, Nullable]>;
  readonly findToken: Statement<[string], TokenRow>;
  readonly touchToken: Statement<[number, string]>;
  readonly listTokens: Statement<[string], TokenRow>;
  readonly revokeToken: Statement<[string, string]>;

  readonly getEntry: Statement<[string, string], EntryRow>;
  readonly listChildren: Statement<[string, string], EntryRow>;
  readonly listAll: Statement<[string], EntryRow>;
  readonly listSubtree: Statement<[string, string, string], EntryRow>;
  readonly listCommittedAll: Statement<[string], CommittedEntryRow>;
  readonly listCommittedUnder: Statement<[string, string, string, string, string], CommittedEntryRow>;
  readonly changesSince: Statement<[string, number], EntryRow>;
  readonly getCounters: Statement<[string], { rev: number; bytes: number; files: number }>;
  readonly bumpRev: Statement<[string], { rev: number }>;
  readonly addUsage: Statement<[number, number, string]>;
  readonly upsertEntry: Statement<[string, string, string, string, number, number, string, number, number, number]>;

  readonly insertTrash: Statement<[string, string, string, number, number, string, number, number, number, string]>;
  readonly listTrashAll: Statement<[string], TrashRow>;
  readonly listTrashUnder: Statement<[string, string, string, string], TrashRow>;
  readonly listTrashAtAll: Statement<[string, number, number], TrashRow>;
  readonly listTrashAtUnder: Statement<[string, string, string, string, number, number], TrashRow>;
  readonly listTrashBefore: Statement<[number], TrashRow>;
  readonly deleteTrashBefore: Statement<[number]>;

  readonly insertBatch: Statement<[string, string, string, string, string, string, number, number | null, number, number, number | null, string]>;
  readonly insertItem: Statement<[string, string, string, string, number, number, string]>;
  readonly getBatch: Statement<[string, string], BatchRow>;
  readonly listBatches: Statement<[string], BatchRow>;
  readonly listItems: Statement<[string, string, number], ItemRow>;
  readonly resolveBatch: Statement<[string, number, Nullable, string | null, string, string]>;

  constructor(db: Database.Database) {
    this.insertUser = db.prepare(
      'INSERT INTO users (name, password_hash, created_at, quota_bytes, quota_files) VALUES (?, ?, ?, NULL, NULL)',
    );
    this.getUser = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE name = ?`);
    this.userExists = db.prepare('SELECT 1 AS one FROM users WHERE name = ?');
    this.setPasswordHash = db.prepare('UPDATE users SET password_hash = ? WHERE name = ?');
    this.setQuotaBytes = db.prepare('UPDATE users SET quota_bytes = ? WHERE name = ?');
    this.setQuotaFiles = db.prepare('UPDATE users SET quota_files = ? WHERE name = ?');
    this.listUsers = db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`);
    this.deleteUser = db.prepare('DELETE FROM users WHERE name = ?');
    this.deleteUserTokens = db.prepare('DELETE FROM tokens WHERE user = ?');
    this.deleteUserEntries = db.prepare('DELETE FROM entries WHERE user = ?');
    this.deleteUserRev = db.prepare('DELETE FROM revs WHERE user = ?');
    this.deleteUserTrash = db.prepare('DELETE FROM trash WHERE user = ?');
    this.deleteUserBatches = db.prepare('DELETE FROM deletion_batches WHERE user = ?');
    this.deleteUserItems = db.prepare('DELETE FROM deletion_items WHERE user = ?');

    this.insertToken = db.prepare(`INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
    this.findToken = db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_hash = ?`);
    this.touchToken = db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?');
    this.listTokens = db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE user = ? ORDER BY created_at, id`);
    this.revokeToken = db.prepare('DELETE FROM tokens WHERE user = ? AND id = ?');

    this.getEntry = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE user = ? AND path = ?`);
    this.listChildren = db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM entries WHERE user = ? AND parent = ? AND deleted = 0 ORDER BY path`,
    );
    this.listAll = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE user = ? AND deleted = 0 ORDER BY path`);
    this.listSubtree = db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM entries WHERE user = ? AND path >= ? AND path < ? AND deleted = 0 ORDER BY path`,
    );
    this.listCommittedAll = db.prepare(
      `SELECT ${COMMITTED_ENTRY_COLUMNS} FROM entries WHERE user = ? AND deleted = 0 ORDER BY path`,
    );
    // Two index lookups, not one OR: SQLite would scan all of the user's entries for the OR.
    this.listCommittedUnder = db.prepare(
      `SELECT ${COMMITTED_ENTRY_COLUMNS} FROM entries WHERE user = ? AND path = ? AND deleted = 0
       UNION ALL
       SELECT ${COMMITTED_ENTRY_COLUMNS} FROM entries WHERE user = ? AND path >= ? AND path < ? AND deleted = 0
       ORDER BY path`,
    );
    this.changesSince = db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM entries WHERE user = ? AND rev > ? ORDER BY rev, path`,
    );
    this.getCounters = db.prepare('SELECT rev, bytes, files FROM revs WHERE user = ?');
    this.bumpRev = db.prepare(
      'INSERT INTO revs (user, rev, bytes, files) VALUES (?, 1, 0, 0) ON CONFLICT (user) DO UPDATE SET rev = rev + 1 RETURNING rev',
    );
    this.addUsage = db.prepare('UPDATE revs SET bytes = bytes + ?, files = files + ? WHERE user = ?');
    this.upsertEntry = db.prepare(
      `INSERT INTO entries (user, path, parent, kind, size, mtime_ms, sha256, rev, deleted, committed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user, path) DO UPDATE SET
         kind = excluded.kind, size = excluded.size, mtime_ms = excluded.mtime_ms,
         sha256 = excluded.sha256, rev = excluded.rev, deleted = excluded.deleted,
         committed_at = excluded.committed_at`,
    );

    this.insertTrash = db.prepare(`INSERT INTO trash (${TRASH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.listTrashAll = db.prepare(`SELECT ${TRASH_COLUMNS} FROM trash WHERE user = ? ORDER BY path, trashed_at, id`);
    this.listTrashUnder = db.prepare(
      `SELECT ${TRASH_COLUMNS} FROM trash WHERE user = ? AND (path = ? OR (path >= ? AND path < ?))
       ORDER BY path, trashed_at, id`,
    );
    this.listTrashAtAll = db.prepare(
      `SELECT ${TRASH_COLUMNS} FROM trash WHERE user = ? AND valid_from <= ? AND trashed_at > ?
       ORDER BY path, trashed_at, id`,
    );
    this.listTrashAtUnder = db.prepare(
      `SELECT ${TRASH_COLUMNS} FROM trash
       WHERE user = ? AND (path = ? OR (path >= ? AND path < ?)) AND valid_from <= ? AND trashed_at > ?
       ORDER BY path, trashed_at, id`,
    );
    this.listTrashBefore = db.prepare(`SELECT ${TRASH_COLUMNS} FROM trash WHERE trashed_at < ? ORDER BY trashed_at, id`);
    this.deleteTrashBefore = db.prepare('DELETE FROM trash WHERE trashed_at < ?');

    this.insertBatch = db.prepare(
      `INSERT INTO deletion_batches (id, user, device, folder, side, state, created_at, resolved_at, item_count, bytes,
         commit_rev, successor, items_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
    );
    this.insertItem = db.prepare('INSERT INTO deletion_items (user, batch, path, kind, rev, size, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.getBatch = db.prepare(`SELECT ${BATCH_COLUMNS} FROM deletion_batches WHERE user = ? AND id = ?`);
    this.listBatches = db.prepare(`SELECT ${BATCH_COLUMNS} FROM deletion_batches WHERE user = ? ORDER BY created_at, id`);
    // -1 means no limit in SQLite.
    this.listItems = db.prepare(`SELECT ${ITEM_COLUMNS} FROM deletion_items WHERE user = ? AND batch = ? ORDER BY path LIMIT ?`);
    // state, resolved at, commit rev, successor; user, id
    this.resolveBatch = db.prepare(
      `UPDATE deletion_batches SET state = ?, resolved_at = ?, commit_rev = ?, successor = ?
       WHERE user = ? AND id = ? AND state = 'held'`,
    );
  }
}
