/**
 * The SQLite schema, as an ordered list of numbered steps. Each step runs once, in its own
 * transaction, and `PRAGMA user_version` records the last step applied. A released step
 * never changes; a schema change is a new step at the end.
 */

/** One schema step. */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

/** Every step, in order; versions are 1, 2, 3, ... */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE users (
        name TEXT PRIMARY KEY NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        quota_bytes INTEGER,
        quota_files INTEGER
      ) STRICT;

      CREATE TABLE tokens (
        id TEXT PRIMARY KEY NOT NULL,
        user TEXT NOT NULL,
        device TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
      ) STRICT;
      CREATE INDEX tokens_by_user ON tokens (user, created_at);

      -- parent is the folder part of path ('' at the top), so that listing one folder is an
      -- index range over its direct children instead of a scan of the whole subtree.
      CREATE TABLE entries (
        user TEXT NOT NULL,
        path TEXT NOT NULL,
        parent TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
        size INTEGER NOT NULL CHECK (size >= 0),
        mtime_ms REAL NOT NULL,
        sha256 TEXT NOT NULL,
        rev INTEGER NOT NULL,
        deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
        committed_at INTEGER NOT NULL,
        PRIMARY KEY (user, path)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX entries_by_rev ON entries (user, rev);
      CREATE INDEX entries_by_parent ON entries (user, parent, path);

      -- One row per user: the revision counter, and the live files' bytes and count, kept
      -- up to date by every commit so that a quota check never sums the whole tree.
      CREATE TABLE revs (
        user TEXT PRIMARY KEY NOT NULL,
        rev INTEGER NOT NULL,
        bytes INTEGER NOT NULL DEFAULT 0,
        files INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE trash (
        id TEXT PRIMARY KEY NOT NULL,
        user TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        sha256 TEXT NOT NULL,
        rev INTEGER NOT NULL,
        valid_from INTEGER NOT NULL,
        trashed_at INTEGER NOT NULL,
        stored_as TEXT NOT NULL
      ) STRICT;
      CREATE INDEX trash_by_path ON trash (user, path);
      CREATE INDEX trash_by_age ON trash (trashed_at);
    `,
  },
];
