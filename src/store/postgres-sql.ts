/**
 * Every SQL statement the PostgreSQL store runs, with the same meaning as the SQLite
 * store's (sqlite-statements.ts). Each has a name, so node-postgres prepares it once per
 * connection and reuses the plan.
 */
import { BATCH_COLUMNS, COMMITTED_ENTRY_COLUMNS, ENTRY_COLUMNS, ITEM_COLUMNS, TOKEN_COLUMNS, TRASH_COLUMNS, USER_COLUMNS } from './postgres-rows.js';

/** A statement node-postgres prepares once per connection under `name`. */
export interface NamedSql {
  readonly name: string;
  readonly text: string;
}

function sql(name: string, text: string): NamedSql {
  return { name: `fos_${name}`, text };
}

/**
 * True while the user named by parameter `param` exists; FOR SHARE keeps a concurrent
 * removeUser waiting until the statement's transaction ends.
 */
function userExists(param: string): string {
  return `EXISTS (SELECT 1 FROM users WHERE name = ${param} FOR SHARE)`;
}

/** The statements, by purpose. */
export const SQL = {
  insertUser: sql(
    'insert_user',
    'INSERT INTO users (name, password_hash, created_at, quota_bytes, quota_files) VALUES ($1, $2, $3, NULL, NULL)',
  ),
  getUser: sql('get_user', `SELECT ${USER_COLUMNS} FROM users WHERE name = $1`),
  userExists: sql('user_exists', 'SELECT 1 FROM users WHERE name = $1'),
  listUsers: sql('list_users', `SELECT ${USER_COLUMNS} FROM users ORDER BY name`),
  deleteUser: sql('delete_user', 'DELETE FROM users WHERE name = $1'),
  deleteUserTokens: sql('delete_user_tokens', 'DELETE FROM tokens WHERE user_name = $1'),
  deleteUserEntries: sql('delete_user_entries', 'DELETE FROM entries WHERE user_name = $1'),
  deleteUserRev: sql('delete_user_rev', 'DELETE FROM revs WHERE user_name = $1'),
  deleteUserTrash: sql('delete_user_trash', 'DELETE FROM trash WHERE user_name = $1'),
  deleteUserItems: sql('delete_user_items', 'DELETE FROM deletion_items WHERE user_name = $1'),
  deleteUserBatches: sql('delete_user_batches', 'DELETE FROM deletion_batches WHERE user_name = $1'),

  /** $1 id, $2 user, $3 device, $4 hash, $5 created, $6 last used; no row when no user. */
  insertToken: sql(
    'insert_token',
    `INSERT INTO tokens (${TOKEN_COLUMNS})
     SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint WHERE ${userExists('$2')}`,
  ),
  findToken: sql('find_token', `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1`),
  touchToken: sql('touch_token', 'UPDATE tokens SET last_used_at = $1 WHERE id = $2'),
  listTokens: sql('list_tokens', `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE user_name = $1 ORDER BY created_at, id`),
  revokeToken: sql('revoke_token', 'DELETE FROM tokens WHERE user_name = $1 AND id = $2'),

  getEntry: sql('get_entry', `SELECT ${ENTRY_COLUMNS} FROM entries WHERE user_name = $1 AND path = $2`),
  listChildren: sql(
    'list_children',
    `SELECT ${ENTRY_COLUMNS} FROM entries WHERE user_name = $1 AND parent = $2 AND NOT deleted ORDER BY path`,
  ),
  listAll: sql('list_all', `SELECT ${ENTRY_COLUMNS} FROM entries WHERE user_name = $1 AND NOT deleted ORDER BY path`),
  listSubtree: sql(
    'list_subtree',
    `SELECT ${ENTRY_COLUMNS} FROM entries
     WHERE user_name = $1 AND path >= $2 AND path < $3 AND NOT deleted ORDER BY path`,
  ),
  listCommittedAll: sql(
    'list_committed_all',
    `SELECT ${COMMITTED_ENTRY_COLUMNS} FROM entries WHERE user_name = $1 AND NOT deleted ORDER BY path`,
  ),
  /** $1 user, $2 the path itself, [$3, $4) the paths below it. */
  listCommittedUnder: sql(
    'list_committed_under',
    `SELECT ${COMMITTED_ENTRY_COLUMNS} FROM entries WHERE user_name = $1 AND path = $2 AND NOT deleted
     UNION ALL
     SELECT ${COMMITTED_ENTRY_COLUMNS} FROM entries WHERE user_name = $1 AND path >= $3 AND path < $4 AND NOT deleted
     ORDER BY path`,
  ),
  changesSince: sql(
    'changes_since',
    `SELECT ${ENTRY_COLUMNS} FROM entries WHERE user_name = $1 AND rev > $2 ORDER BY rev, path`,
  ),
  getCounters: sql('get_counters', 'SELECT rev, bytes, files FROM revs WHERE user_name = $1'),

  /**
   * Takes the next revision. The row lock it leaves is held until COMMIT, so a concurrent
   * commit for the same user, on any node, waits here and then reads the incremented value.
   * No row comes back when the user does not exist.
   */
  bumpRev: sql(
    'bump_rev',
    `INSERT INTO revs (user_name, rev, bytes, files) SELECT $1::text, 1, 0, 0 WHERE ${userExists('$1')}
     ON CONFLICT (user_name) DO UPDATE SET rev = revs.rev + 1
     RETURNING rev`,
  ),

  /**
   * Writes a batch of entries at revision $2 and moves the live totals by the difference,
   * in one statement: `old` reads the rows as they were before the upsert (every part of
   * the statement shares one snapshot, taken after bumpRev's lock was granted).
   * $1 user, $2 rev, $3 committed at, $4.. parallel arrays of the changes.
   */
  upsertEntries: sql(
    'upsert_entries',
    `WITH batch AS (
       SELECT * FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[], $8::float8[], $9::text[], $10::boolean[])
         AS b(path, parent, kind, size, mtime_ms, sha256, deleted)
     ),
     old AS (
       SELECT e.size FROM entries e JOIN batch b ON e.path = b.path
       WHERE e.user_name = $1 AND e.kind = 'file' AND NOT e.deleted
     ),
     written AS (
       INSERT INTO entries (user_name, path, parent, kind, size, mtime_ms, sha256, rev, deleted, committed_at)
       SELECT $1, path, parent, kind, size, mtime_ms, sha256, $2, deleted, $3 FROM batch
       ON CONFLICT (user_name, path) DO UPDATE SET
         kind = excluded.kind, size = excluded.size, mtime_ms = excluded.mtime_ms,
         sha256 = excluded.sha256, rev = excluded.rev, deleted = excluded.deleted,
         committed_at = excluded.committed_at
     )
     UPDATE revs SET
       bytes = bytes
         + (SELECT coalesce(sum(size), 0) FROM batch WHERE kind = 'file' AND NOT deleted)
         - (SELECT coalesce(sum(size), 0) FROM old),
       files = files
         + (SELECT count(*) FROM batch WHERE kind = 'file' AND NOT deleted)
         - (SELECT count(*) FROM old)
     WHERE user_name = $1`,
  ),

  /** $1..$10 the record, user in $2; no row when no user. */
  insertTrash: sql(
    'insert_trash',
    `INSERT INTO trash (${TRASH_COLUMNS})
     SELECT $1::text, $2::text, $3::text, $4::bigint, $5::float8, $6::text, $7::bigint, $8::bigint, $9::bigint, $10::text
     WHERE ${userExists('$2')}`,
  ),
  listTrashAll: sql(
    'list_trash_all',
    `SELECT ${TRASH_COLUMNS} FROM trash WHERE user_name = $1 ORDER BY path, trashed_at, id`,
  ),
  listTrashUnder: sql(
    'list_trash_under',
    `SELECT ${TRASH_COLUMNS} FROM trash WHERE user_name = $1 AND (path = $2 OR (path >= $3 AND path < $4))
     ORDER BY path, trashed_at, id`,
  ),
  /** $1 user, $2 the time: versions current then. */
  listTrashAtAll: sql(
    'list_trash_at_all',
    `SELECT ${TRASH_COLUMNS} FROM trash WHERE user_name = $1 AND valid_from <= $2 AND trashed_at > $2
     ORDER BY path, trashed_at, id`,
  ),
  /** $1 user, $2 the path itself, [$3, $4) the paths below it, $5 the time. */
  listTrashAtUnder: sql(
    'list_trash_at_under',
    `SELECT ${TRASH_COLUMNS} FROM trash
     WHERE user_name = $1 AND (path = $2 OR (path >= $3 AND path < $4)) AND valid_from <= $5 AND trashed_at > $5
     ORDER BY path, trashed_at, id`,
  ),
  purgeTrash: sql(
    'purge_trash',
    `WITH gone AS (DELETE FROM trash WHERE trashed_at < $1 RETURNING ${TRASH_COLUMNS})
     SELECT ${TRASH_COLUMNS} FROM gone ORDER BY trashed_at, id`,
  ),

  /**
   * $1 id, $2 user, $3 device, $4 folder, $5 side, $6 created, $7 count, $8 bytes, $9 key,
   * $10 state, $11 resolved, $12 commit revision; no row when no user.
   */
  insertBatch: sql(
    'insert_batch',
    `INSERT INTO deletion_batches (id, user_name, device, folder, side, state, created_at, resolved_at, item_count, bytes,
       commit_rev, successor, items_key)
     SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $10::text, $6::bigint, $11::bigint, $7::bigint, $8::bigint, $12::bigint, NULL, $9::text
     WHERE ${userExists('$2')}`,
  ),
  /** $1 user, $2 batch, $3.. parallel arrays of the items. */
  insertItems: sql(
    'insert_items',
    `INSERT INTO deletion_items (user_name, batch, path, kind, rev, size, sha256)
     SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])`,
  ),
  getBatch: sql('get_batch', `SELECT ${BATCH_COLUMNS} FROM deletion_batches WHERE user_name = $1 AND id = $2`),
  listBatches: sql('list_batches', `SELECT ${BATCH_COLUMNS} FROM deletion_batches WHERE user_name = $1 ORDER BY created_at, id`),
  /** $3: at most this many; NULL for all. */
  listItems: sql(
    'list_items',
    `SELECT ${ITEM_COLUMNS} FROM deletion_items WHERE user_name = $1 AND batch = $2 ORDER BY path LIMIT $3`,
  ),
  /** $1 state, $2 resolved at, $3 commit rev, $4 successor, $5 user, $6 id; only a held batch changes. */
  resolveBatch: sql(
    'resolve_batch',
    `UPDATE deletion_batches SET state = $1, resolved_at = $2, commit_rev = $3, successor = $4
     WHERE user_name = $5 AND id = $6 AND state = 'held'`,
  ),
} as const;
