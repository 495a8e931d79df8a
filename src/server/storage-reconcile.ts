/**
 * Start-up reconciliation of one user's files (DESIGN.md "Server storage"): disk and store
 * are compared, and the differences become one commit. A file added by hand is hashed and
 * appears; a file that vanished becomes a deletion in the change feed; a file whose size
 * or mtime changed is hashed again. Symbolic links and special files are never followed,
 * and fos's own leftover temporary files are removed.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { storageError } from '../fs/fs.js';
import { sha256File } from '../fs/hash.js';
import { TEMP_PREFIX, isCanonicalRemotePath } from '../fs/remote-path.js';
import type { Entry } from '../protocol/types.js';
import type { Change } from '../store/types.js';
import { commitChanges, tombstoneOf } from './storage-context.js';
import type { StorageContext } from './storage-context.js';
import { userRoot } from './storage-layout.js';

/** mtimes within this many ms are equal (file systems round sub-millisecond times). */
const MTIME_TOLERANCE_MS = 2;

/** What the reconciliation of one user found. */
export interface ReconcileReport {
  readonly user: string;
  /** Files and folders found on disk but not in the store. */
  readonly added: number;
  /** Files whose content changed on disk. */
  readonly changed: number;
  /** Files whose content is as recorded but whose mtime is not (the record takes the disk's). */
  readonly retimed: number;
  /** Entries whose file or folder is gone from disk (now tombstones). */
  readonly removed: number;
  /** Names on disk fos cannot serve (links, special files, illegal names). */
  readonly skipped: readonly string[];
  /** The revision of the reconciling commit, or null when nothing differed. */
  readonly rev: number | null;
}

interface Walk {
  readonly ctx: StorageContext;
  readonly known: ReadonlyMap<string, Entry>;
  readonly seen: Set<string>;
  readonly changes: Change[];
  readonly skipped: string[];
  added: number;
  changed: number;
  retimed: number;
}

/**
 * Reconciles one user's disk folder with the store; run under the user's lock.
 * @throws FosError from the store, or `FOS_ERR_STORE_WRITE` when the disk cannot be read.
 */
export async function reconcileUser(ctx: StorageContext, user: string): Promise<ReconcileReport> {
  const root = userRoot(ctx.layout, user);
  await ctx.fs.mkdirp(root).catch((err: unknown) => {
    throw storageError(err, `cannot create ${root}`);
  });
  const entries = await ctx.store.listEntries(user, { prefix: '', recursive: true });
  const walk: Walk = {
    ctx,
    known: new Map(entries.map((entry) => [entry.path, entry])),
    seen: new Set(),
    changes: [],
    skipped: [],
    added: 0,
    changed: 0,
    retimed: 0,
  };
  await walkFolder(walk, root, '');
  let removed = 0;
  for (const entry of entries) {
    if (walk.seen.has(entry.path)) continue;
    walk.changes.push(tombstoneOf(entry));
    removed += 1;
  }
  const committed = await commitChanges(ctx, user, walk.changes);
  const report: ReconcileReport = {
    user,
    added: walk.added,
    changed: walk.changed,
    retimed: walk.retimed,
    removed,
    skipped: walk.skipped,
    rev: committed[0]?.rev ?? null,
  };
  if (walk.changes.length > 0 || walk.skipped.length > 0) {
    ctx.logger.info({ user, added: report.added, changed: report.changed, retimed: report.retimed, removed, skipped: walk.skipped.length, rev: report.rev }, 'storage reconciled');
  }
  for (const name of walk.skipped) ctx.logger.warn({ user, path: name }, 'skipped a name fos cannot serve');
  return report;
}

async function walkFolder(walk: Walk, folder: string, prefix: string): Promise<void> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw storageError(err, `cannot read ${folder}`);
  }
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const dirent of dirents) {
    const local = join(folder, dirent.name);
    const path = prefix === '' ? dirent.name : `${prefix}/${dirent.name}`;
    if (dirent.name.toLowerCase().startsWith(TEMP_PREFIX)) {
      // A temporary file of fos's own, left by a crash; never a legal remote name.
      await rm(local, { recursive: true, force: true });
      continue;
    }
    if (!isCanonicalRemotePath(path) || dirent.isSymbolicLink() || !(dirent.isFile() || dirent.isDirectory())) {
      walk.skipped.push(path);
      continue;
    }
    walk.seen.add(path);
    if (dirent.isDirectory()) {
      await visitFolder(walk, local, path);
      await walkFolder(walk, local, path);
    } else {
      await visitFile(walk, local, path);
    }
  }
}

async function visitFolder(walk: Walk, local: string, path: string): Promise<void> {
  const entry = walk.known.get(path);
  if (entry !== undefined && !entry.deleted && entry.kind === 'dir') return;
  const info = await lstat(local);
  walk.changes.push({ path, kind: 'dir', size: 0, mtimeMs: info.mtimeMs, sha256: '', deleted: false });
  walk.added += 1;
}

async function visitFile(walk: Walk, local: string, path: string): Promise<void> {
  const entry = walk.known.get(path);
  const info = await lstat(local);
  const isKnownFile = entry !== undefined && !entry.deleted && entry.kind === 'file';
  if (isKnownFile && info.size === entry.size && Math.abs(info.mtimeMs - entry.mtimeMs) <= MTIME_TOLERANCE_MS) return;
  const sha256 = await sha256File(local);
  if (isKnownFile && info.size === entry.size && sha256 === entry.sha256 && Math.abs(info.mtimeMs - entry.mtimeMs) <= MTIME_TOLERANCE_MS) {
    return;
  }
  walk.changes.push({ path, kind: 'file', size: info.size, mtimeMs: info.mtimeMs, sha256, deleted: false });
  if (!isKnownFile) walk.added += 1;
  else if (info.size === entry.size && sha256 === entry.sha256) walk.retimed += 1;
  else walk.changed += 1;
}
