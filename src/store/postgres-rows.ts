/**
 * Rows from PostgreSQL into store values. Every column is checked before use: a row that
 * does not have the expected shape is a corrupt database, reported as such.
 */
import { FosError } from '../errors.js';
import type { Account, BatchState, DeletionBatch, DeletionItem, DeletionSide, Entry, EntryKind, TokenInfo } from '../protocol/types.js';
import { BATCH_STATES, DELETION_SIDES } from '../protocol/types.js';
import type { CommittedEntry, TokenRecord, TrashRecord, UserRecord } from './types.js';

/** A result row as node-postgres returns it. */
export type Row = Readonly<Record<string, unknown>>;

function corrupt(column: string, expected: string): FosError {
  return new FosError('FOS_ERR_STORE_CORRUPT', `column ${column} is not ${expected}`);
}

function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw corrupt(column, 'a number');
  return value;
}

function numOrNull(row: Row, column: string): number | null {
  return row[column] === null ? null : num(row, column);
}

function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw corrupt(column, 'text');
  return value;
}

function bool(row: Row, column: string): boolean {
  const value = row[column];
  if (typeof value !== 'boolean') throw corrupt(column, 'a boolean');
  return value;
}

function kind(row: Row): EntryKind {
  const value = row['kind'];
  if (value !== 'file' && value !== 'dir') throw corrupt('kind', "'file' or 'dir'");
  return value;
}

/** Columns of `users` that {@link toAccount} and {@link toUserRecord} read. */
export const USER_COLUMNS = 'name, password_hash, created_at, quota_bytes, quota_files';

/** An account row without its hash. */
export function toAccount(row: Row): Account {
  return {
    name: str(row, 'name'),
    createdAt: num(row, 'created_at'),
    quotaBytes: numOrNull(row, 'quota_bytes'),
    quotaFiles: numOrNull(row, 'quota_files'),
  };
}

/** An account row with its hash. */
export function toUserRecord(row: Row): UserRecord {
  return { ...toAccount(row), passwordHash: str(row, 'password_hash') };
}

/** Columns of `tokens` that {@link toTokenInfo} and {@link toTokenRecord} read. */
export const TOKEN_COLUMNS = 'id, user_name, device, token_hash, created_at, last_used_at';

/** A token row as listed (no hash). */
export function toTokenInfo(row: Row): TokenInfo {
  return {
    id: str(row, 'id'),
    user: str(row, 'user_name'),
    device: str(row, 'device'),
    createdAt: num(row, 'created_at'),
    lastUsedAt: numOrNull(row, 'last_used_at'),
  };
}

/** A token row with its hash. */
export function toTokenRecord(row: Row): TokenRecord {
  return { ...toTokenInfo(row), tokenHash: str(row, 'token_hash') };
}

/** Columns of `entries` that {@link toEntry} reads. */
export const ENTRY_COLUMNS = 'path, kind, size, mtime_ms, sha256, rev, deleted';

/** An entry row. */
export function toEntry(row: Row): Entry {
  return {
    path: str(row, 'path'),
    kind: kind(row),
    size: num(row, 'size'),
    mtimeMs: num(row, 'mtime_ms'),
    sha256: str(row, 'sha256'),
    rev: num(row, 'rev'),
    deleted: bool(row, 'deleted'),
  };
}

/** Columns of `entries` that {@link toCommittedEntry} reads. */
export const COMMITTED_ENTRY_COLUMNS = `${ENTRY_COLUMNS}, committed_at`;

/** An entry row with its commit time. */
export function toCommittedEntry(row: Row): CommittedEntry {
  return { ...toEntry(row), committedAt: num(row, 'committed_at') };
}

/** Columns of `trash` that {@link toTrashRecord} reads. */
export const TRASH_COLUMNS = 'id, user_name, path, size, mtime_ms, sha256, rev, valid_from, trashed_at, stored_as';

/** A trash row. */
export function toTrashRecord(row: Row): TrashRecord {
  return {
    id: str(row, 'id'),
    user: str(row, 'user_name'),
    path: str(row, 'path'),
    size: num(row, 'size'),
    mtimeMs: num(row, 'mtime_ms'),
    sha256: str(row, 'sha256'),
    rev: num(row, 'rev'),
    validFrom: num(row, 'valid_from'),
    trashedAt: num(row, 'trashed_at'),
    storedAs: str(row, 'stored_as'),
  };
}

/** Columns of `deletion_batches` that {@link toDeletionBatch} reads. */
export const BATCH_COLUMNS = 'id, device, folder, side, state, created_at, resolved_at, item_count, bytes, commit_rev, successor, items_key';

function strOrNull(row: Row, column: string): string | null {
  return row[column] === null ? null : str(row, column);
}

/** A held batch row. */
export function toDeletionBatch(row: Row): DeletionBatch {
  const side = DELETION_SIDES.find((s): s is DeletionSide => s === row['side']);
  const state = BATCH_STATES.find((s): s is BatchState => s === row['state']);
  if (side === undefined) throw corrupt('side', "'remote' or 'local'");
  if (state === undefined) throw corrupt('state', 'a batch state');
  return {
    id: str(row, 'id'),
    device: str(row, 'device'),
    folder: str(row, 'folder'),
    side,
    state,
    createdAt: num(row, 'created_at'),
    resolvedAt: numOrNull(row, 'resolved_at'),
    count: num(row, 'item_count'),
    bytes: num(row, 'bytes'),
    commitRev: numOrNull(row, 'commit_rev'),
    successor: strOrNull(row, 'successor'),
    itemsKey: str(row, 'items_key'),
  };
}

/** Columns of `deletion_items` that {@link toDeletionItem} reads. */
export const ITEM_COLUMNS = 'path, kind, rev, size, sha256';

/** A held item row. */
export function toDeletionItem(row: Row): DeletionItem {
  return { path: str(row, 'path'), kind: kind(row), rev: num(row, 'rev'), size: num(row, 'size'), sha256: str(row, 'sha256') };
}
