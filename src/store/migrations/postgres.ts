/**
 * The PostgreSQL schema, as an ordered list of numbered steps with the same meaning as
 * the SQLite steps (`sqlite.ts`). Each step runs once, in its own transaction, and the
 * `schema_migrations` table records it. A released step never changes; a schema change is
 * a new step at the end of both lists.
 *
 * Differences from SQLite, and why:
 * - The user column is `user_name`: `user` is a reserved word in PostgreSQL, and an
 *   unquoted `user` silently means `current_user`.
 * - Paths, names and ids use the "C" collation, so that ORDER BY and range scans compare
 *   bytes of UTF-8, as SQLite's BINARY collation does, whatever the database's locale.
 * - Sizes, revisions and times are BIGINT (SQLite's INTEGER is 64-bit too); mtime_ms is
 *   DOUBLE PRECISION as SQLite's REAL is, because uploaders may report sub-millisecond times.
 */
import type { Migration } from './sqlite.js';

/** Every step, in order; versions are 1, 2, 3, ... */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE users (
        name TEXT COLLATE "C" PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        quota_bytes BIGINT,
        quota_files BIGINT
      );

      CREATE TABLE tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        user_name TEXT NOT NULL,
        device TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT
      );
      CREATE INDEX tokens_by_user ON tokens (user_name, created_at);

      -- parent is the folder part of path ('' at the top), so that listing one folder is an
      -- index range over its direct children instead of a scan of the whole subtree.
      CREATE TABLE entries (
        user_name TEXT NOT NULL,
        path TEXT COLLATE "C" NOT NULL,
        parent TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
        size BIGINT NOT NULL CHECK (size >= 0),
        mtime_ms DOUBLE PRECISION NOT NULL,
        sha256 TEXT NOT NULL,
        rev BIGINT NOT NULL,
        deleted BOOLEAN NOT NULL,
        committed_at BIGINT NOT NULL,
        PRIMARY KEY (user_name, path)
      );
      CREATE INDEX entries_by_rev ON entries (user_name, rev);
      CREATE INDEX entries_by_parent ON entries (user_name, parent, path);

      -- One row per user: the revision counter and the live files' totals. commit()
      -- increments it under the row lock, so writers on every node take revisions one
      -- after another, none lost and none twice.
      CREATE TABLE revs (
        user_name TEXT PRIMARY KEY,
        rev BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        files BIGINT NOT NULL
      );

      CREATE TABLE trash (
        id TEXT COLLATE "C" PRIMARY KEY,
        user_name TEXT NOT NULL,
        path TEXT COLLATE "C" NOT NULL,
        size BIGINT NOT NULL,
        mtime_ms DOUBLE PRECISION NOT NULL,
        sha256 TEXT NOT NULL,
        rev BIGINT NOT NULL,
        valid_from BIGINT NOT NULL,
        trashed_at BIGINT NOT NULL,
        stored_as TEXT NOT NULL
      );
      CREATE INDEX trash_by_path ON trash (user_name, path);
      CREATE INDEX trash_by_age ON trash (trashed_at);
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE deletion_batches (
        id TEXT COLLATE "C" PRIMARY KEY,
        user_name TEXT NOT NULL,
        device TEXT NOT NULL,
        folder TEXT COLLATE "C" NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('remote', 'local')),
        state TEXT NOT NULL CHECK (state IN ('held', 'approved', 'rejected', 'superseded', 'withdrawn')),
        created_at BIGINT NOT NULL,
        resolved_at BIGINT,
        item_count BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        commit_rev BIGINT,
        successor TEXT,
        items_key TEXT NOT NULL
      );
      CREATE INDEX deletion_batches_by_user ON deletion_batches (user_name, created_at, id);
      CREATE UNIQUE INDEX deletion_batches_pending ON deletion_batches (user_name, device, folder, side) WHERE state = 'held';

      CREATE TABLE deletion_items (
        user_name TEXT NOT NULL,
        batch TEXT COLLATE "C" NOT NULL,
        path TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
        rev BIGINT NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (batch, path)
      );
      CREATE INDEX deletion_items_by_user ON deletion_items (user_name);
    `,
  },
];
