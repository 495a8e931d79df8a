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
  {
    // Held deletions (issue 11): deletions a safety guard held back, waiting for a person.
    // At most one batch per device, folder and side is pending; items are kept per batch.
    version: 2,
    sql: `
      CREATE TABLE deletion_batches (
        id TEXT PRIMARY KEY NOT NULL,
        user TEXT NOT NULL,
        device TEXT NOT NULL,
        folder TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('remote', 'local')),
        state TEXT NOT NULL CHECK (state IN ('held', 'approved', 'rejected', 'superseded', 'withdrawn')),
        created_at INTEGER NOT NULL,
        resolved_at INTEGER,
        item_count INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        commit_rev INTEGER,
        successor TEXT,
        items_key TEXT NOT NULL
      ) STRICT;
      CREATE INDEX deletion_batches_by_user ON deletion_batches (user, created_at, id);
      CREATE UNIQUE INDEX deletion_batches_pending ON deletion_batches (user, device, folder, side) WHERE state = 'held';

      CREATE TABLE deletion_items (
        user TEXT NOT NULL,
        batch TEXT NOT NULL,
        path TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
        rev INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (batch, path)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX deletion_items_by_user ON deletion_items (user);
    `,
  },
];
