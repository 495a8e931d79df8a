/**
 * Row shapes of the SQLite schema (migrations/sqlite.ts) and their mapping to the store's
 * values. The tables are STRICT, so column types are guaranteed; only enumerated text
 * (the entry kind) is checked when read.
 */
import { FosError } from '../errors.js';
import type { Account, BatchState, DeletionBatch, DeletionItem, DeletionSide, Entry, TokenInfo } from '../protocol/types.js';
import { BATCH_STATES, DELETION_SIDES } from '../protocol/types.js';
import type { CommittedEntry, TokenRecord, TrashRecord, UserRecord } from './types.js';

/** A row of `users`. */
export interface UserRow {
  readonly name: string;
  readonly password_hash: string;
  readonly created_at: number;
  readonly quota_bytes: number | null;
  readonly quota_files: number | null;
}

/** A row of `tokens`. */
export interface TokenRow {
  readonly id: string;
  readonly user: string;
  readonly device: string;
  readonly token_hash: string;
  readonly created_at: number;
  readonly last_used_at: number | null;
}

/** The columns of `entries` the store returns. */
export interface EntryRow {
  readonly path: string;
  readonly kind: string;
  readonly size: number;
  readonly mtime_ms: number;
  readonly sha256: string;
  readonly rev: number;
  readonly deleted: number;
}

/** The columns of `entries` with the commit time. */
export interface CommittedEntryRow extends EntryRow {
  readonly committed_at: number;
}

/** A row of `trash`. */
export interface TrashRow {
  readonly id: string;
  readonly user: string;
  readonly path: string;
  readonly size: number;
  readonly mtime_ms: number;
  readonly sha256: string;
  readonly rev: number;
  readonly valid_from: number;
  readonly trashed_at: number;
  readonly stored_as: string;
}

/** A row of `deletion_batches` (without the user). */
export interface BatchRow {
  readonly id: string;
  readonly device: string;
  readonly folder: string;
  readonly side: string;
  readonly state: string;
  readonly created_at: number;
  readonly resolved_at: number | null;
  readonly item_count: number;
  readonly bytes: number;
  readonly commit_rev: number | null;
  readonly successor: string | null;
  readonly items_key: string;
}

/** A row of `deletion_items` (without user and batch). */
export interface ItemRow {
  readonly path: string;
  readonly kind: string;
  readonly rev: number;
  readonly size: number;
  readonly sha256: string;
}

/** Column lists matching the row shapes above. */
export const USER_COLUMNS = 'name, password_hash, created_at, quota_bytes, quota_files';
export const TOKEN_COLUMNS = 'id, user, device, token_hash, created_at, last_used_at';
export const ENTRY_COLUMNS = 'path, kind, size, mtime_ms, sha256, rev, deleted';
export const COMMITTED_ENTRY_COLUMNS = `${ENTRY_COLUMNS}, committed_at`;
export const TRASH_COLUMNS = 'id, user, path, size, mtime_ms, sha256, rev, valid_from, trashed_at, stored_as';
export const BATCH_COLUMNS = 'id, device, folder, side, state, created_at, resolved_at, item_count, bytes, commit_rev, successor, items_key';
export const ITEM_COLUMNS = 'path, kind, rev, size, sha256';

/** A users row as an Account (no hash). */
export function toAccount(row: UserRow): Account {
  return { name: row.name, createdAt: row.created_at, quotaBytes: row.quota_bytes, quotaFiles: row.quota_files };
}

/** A users row with its hash. */
export function toUserRecord(row: UserRow): UserRecord {
  return { ...toAccount(row), passwordHash: row.password_hash };
}

/** A tokens row as listed (no hash). */
export function toTokenInfo(row: TokenRow): TokenInfo {
  return { id: row.id, user: row.user, device: row.device, createdAt: row.created_at, lastUsedAt: row.last_used_at };
}

/** A tokens row with its hash. */
export function toTokenRecord(row: TokenRow): TokenRecord {
  return { ...toTokenInfo(row), tokenHash: row.token_hash };
}

/**
 * An entries row as an Entry.
 * @throws FosError `FOS_ERR_STORE_CORRUPT` for a kind the schema does not allow.
 */
export function toEntry(row: EntryRow): Entry {
  if (row.kind !== 'file' && row.kind !== 'dir') {
    throw new FosError('FOS_ERR_STORE_CORRUPT', `entry ${JSON.stringify(row.path)} has unknown kind ${row.kind}`);
  }
  return {
    path: row.path,
    kind: row.kind,
    size: row.size,
    mtimeMs: row.mtime_ms,
    sha256: row.sha256,
    rev: row.rev,
    deleted: row.deleted === 1,
  };
}

/**
 * An entries row with its commit time.
 * @throws FosError `FOS_ERR_STORE_CORRUPT` for a kind the schema does not allow.
 */
export function toCommittedEntry(row: CommittedEntryRow): CommittedEntry {
  return { ...toEntry(row), committedAt: row.committed_at };
}

/** A trash row as a TrashRecord. */
export function toTrashRecord(row: TrashRow): TrashRecord {
  return {
    id: row.id,
    user: row.user,
    path: row.path,
    size: row.size,
    mtimeMs: row.mtime_ms,
    sha256: row.sha256,
    rev: row.rev,
    validFrom: row.valid_from,
    trashedAt: row.trashed_at,
    storedAs: row.stored_as,
  };
}

/**
 * A deletion_batches row as a DeletionBatch.
 * @throws FosError `FOS_ERR_STORE_CORRUPT` for a side or state the schema does not allow.
 */
export function toDeletionBatch(row: BatchRow): DeletionBatch {
  const side = DELETION_SIDES.find((s): s is DeletionSide => s === row.side);
  const state = BATCH_STATES.find((s): s is BatchState => s === row.state);
  if (side === undefined || state === undefined) {
    throw new FosError('FOS_ERR_STORE_CORRUPT', `batch ${JSON.stringify(row.id)} has side ${row.side} and state ${row.state}`);
  }
  return {
    id: row.id,
    device: row.device,
    folder: row.folder,
    side,
    state,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
    count: row.item_count,
    bytes: row.bytes,
    commitRev: row.commit_rev,
    successor: row.successor,
    itemsKey: row.items_key,
  };
}

/**
 * A deletion_items row as a DeletionItem.
 * @throws FosError `FOS_ERR_STORE_CORRUPT` for an unknown kind.
 */
export function toDeletionItem(row: ItemRow): DeletionItem {
  if (row.kind !== 'file' && row.kind !== 'dir') {
    throw new FosError('FOS_ERR_STORE_CORRUPT', `held item ${JSON.stringify(row.path)} has unknown kind ${row.kind}`);
  }
  return { path: row.path, kind: row.kind, rev: row.rev, size: row.size, sha256: row.sha256 };
}
