/**
 * Carries out one operation of a plan: the file-system and server steps its type
 * documents (types.ts), then the manifest update. Preconditions are checked first; a path
 * that no longer matches the scan is skipped ("changed, the next pass handles it"), never
 * overwritten, and a local deletion goes to the local trash.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FosError } from '../errors.js';
import type { FosClient } from '../client/index.js';
import type { Entry } from '../protocol/types.js';
import type { BaseStore, ConflictCopy, Direction, SkipReason } from './engine-types.js';
import {
  diskPathOf,
  ensureDir,
  localError,
  localPath,
  lstatOrNull,
  placeNew,
  placeOver,
  renameNoClobber,
  stagingPath,
  stillMatches,
} from './local-fs.js';
import { isAtOrUnder, joinPath } from './path-tree.js';
import type { LocalTrash } from './trash.js';
import type { BaseState, ConflictOp, DownloadOp, LocalState, Op } from './types.js';

/** What applying an operation needs. */
export interface OpContext {
  /** The local folder, absolute. */
  readonly root: string;
  /** The remote folder the local one is paired with ('' for the user's root). */
  readonly remoteRoot: string;
  readonly base: BaseStore;
  /** The server's view by sync path, for the revisions a local move takes over. */
  readonly remote: ReadonlyMap<string, Entry>;
  readonly trash: LocalTrash;
  readonly isIgnored: (path: string, isDir: boolean) => boolean;
  /** Runs `fn` on a pooled client, retrying transient failures. */
  readonly run: <T>(fn: (client: FosClient) => Promise<T>) => Promise<T>;
  readonly now: () => number;
  readonly signal: AbortSignal;
  /** Compress transfers (brotli, else gzip) when the server supports it. */
  readonly compress?: boolean;
  /** Told as a transfer moves; `null` bytes when it ends. */
  readonly onTransfer: (path: string, direction: Direction, bytes: number | null, total: number) => void;
}

/** The result of one operation. */
export type OpOutcome =
  | { readonly kind: 'done'; readonly uploaded: number; readonly downloaded: number; readonly conflict: ConflictCopy | null }
  | { readonly kind: 'skipped'; readonly reason: SkipReason };

const DONE: OpOutcome = Object.freeze({ kind: 'done', uploaded: 0, downloaded: 0, conflict: null });

function skipped(reason: SkipReason): OpOutcome {
  return { kind: 'skipped', reason };
}

function done(uploaded: number, downloaded: number, conflict: ConflictCopy | null = null): OpOutcome {
  return { kind: 'done', uploaded, downloaded, conflict };
}

const DIR_BASE = (rev: number): BaseState => ({ kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev });

/**
 * Applies `op`.
 * @throws FosError from the server (`FOS_ERR_STORE_CONFLICT` when a revision check
 * refused it) or the local file system; the executor classifies them.
 */
export async function applyOp(op: Op, ctx: OpContext): Promise<OpOutcome> {
  switch (op.kind) {
    case 'upload':
      return upload(ctx, op.path, op.local, op.baseRev);
    case 'download':
      return download(ctx, op);
    case 'deleteRemote': {
      try {
        await ctx.run((c) => c.delete(remotePathOf(ctx, op.path), { baseRev: op.baseRev, signal: ctx.signal }));
      } catch (err) {
        // Already gone on the server: the deletion's goal is met.
        if (!(err instanceof FosError && err.code === 'FOS_ERR_PATH_NOT_FOUND')) throw err;
      }
      ctx.base.delete(op.path);
      return DONE;
    }
    case 'deleteLocal':
      return deleteLocal(ctx, op.path, op.expect);
    case 'mkdirRemote': {
      const entry = await mkdirRemote(ctx, op.path);
      ctx.base.set(op.path, DIR_BASE(entry.rev));
      return DONE;
    }
    case 'mkdirLocal': {
      const target = localPath(ctx.root, await diskPathOf(ctx.root, op.path));
      const stats = await lstatOrNull(target);
      if (stats !== null && !stats.isDirectory()) return skipped('appearedLocally');
      await ensureDir(target);
      ctx.base.set(op.path, DIR_BASE(op.entry.rev));
      return DONE;
    }
    case 'moveRemote': {
      const entries = await ctx.run((c) =>
        c.move(remotePathOf(ctx, op.from), remotePathOf(ctx, op.to), { baseRev: op.baseRev, signal: ctx.signal }),
      );
      const revs = new Map(entries.map((e) => [syncPathOf(ctx, e.path), e.rev]));
      rekeyBase(ctx.base, op.from, op.to, (path) => revs.get(path), op.entryKind === 'file' ? op.local.mtimeMs : null);
      return DONE;
    }
    case 'moveLocal': {
      if (!(await stillMatches(localPath(ctx.root, op.expect.diskPath), op.expect))) return skipped('changedLocally');
      const moved = await renameNoClobber(localPath(ctx.root, op.expect.diskPath), localPath(ctx.root, await diskPathOf(ctx.root, op.to)));
      if (!moved) return skipped('appearedLocally');
      rekeyBase(ctx.base, op.from, op.to, (path) => ctx.remote.get(path)?.rev, op.entryKind === 'file' ? op.expect.mtimeMs : null);
      return DONE;
    }
    case 'conflict':
      return op.loser === 'local' ? localLoses(ctx, op) : remoteLoses(ctx, op);
    case 'updateBase':
      ctx.base.set(op.path, op.state);
      return DONE;
    case 'dropBase':
      ctx.base.delete(op.path);
      return DONE;
    default: {
      const unreachable: never = op;
      throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `unknown operation ${String(unreachable)}`);
    }
  }
}

/** The server path of a sync path. */
export function remotePathOf(ctx: Pick<OpContext, 'remoteRoot'>, path: string): string {
  return joinPath(ctx.remoteRoot, path);
}

/** The sync path of a server path under the remote folder. */
export function syncPathOf(ctx: Pick<OpContext, 'remoteRoot'>, remotePath: string): string {
  return ctx.remoteRoot === '' ? remotePath : remotePath.slice(ctx.remoteRoot.length + 1);
}

async function upload(ctx: OpContext, path: string, local: LocalState, baseRev: number | null): Promise<OpOutcome> {
  const source = localPath(ctx.root, local.diskPath);
  if (!(await stillMatches(source, local))) return skipped('changedLocally');
  const total = local.size;
  ctx.onTransfer(path, 'upload', 0, total);
  // The scan's size and mtime with what the server committed: a later change of the file
  // shows as a local change against this record.
  const record = (entry: Entry): void => ctx.base.set(path, { kind: 'file', size: entry.size, sha256: entry.sha256, mtimeMs: local.mtimeMs, rev: entry.rev });
  try {
    const entry = await ctx.run((c) =>
      c.upload(source, remotePathOf(ctx, path), {
        baseRev,
        mtimeMs: Math.floor(local.mtimeMs),
        // The scan just hashed it: no second read before the bytes go.
        ...(local.sha256 === '' ? {} : { sha256: local.sha256 }),
        signal: ctx.signal,
        ...(ctx.compress === true ? { compress: true } : {}),
        onProgress: (p) => ctx.onTransfer(path, 'upload', p.bytes, p.total),
        // Issue 9: edited after its bytes were read, the file still landed whole on the
        // server; without this record the next round saw two new versions and made a
        // conflict copy of the device's own edit.
        onCommittedThenChanged: record,
      }),
    );
    record(entry);
    return done(entry.size, 0);
  } catch (err) {
    if (err instanceof FosError && err.code === 'FOS_ERR_SYNC_LOCAL_CHANGED') return skipped('changedLocally');
    throw err;
  } finally {
    ctx.onTransfer(path, 'upload', null, total);
  }
}

/**
 * Fetches `entry` into a staging file beside `diskPath`, then places it: over `expect`
 * when the path still matches it, or into a free path (never over a file that appeared).
 */
async function fetchInto(ctx: OpContext, path: string, diskPath: string, entry: Entry, expect: LocalState | null): Promise<OpOutcome> {
  const target = localPath(ctx.root, diskPath);
  if (expect === null ? (await lstatOrNull(target)) !== null : !(await stillMatches(target, expect))) {
    return skipped(expect === null ? 'appearedLocally' : 'changedLocally');
  }
  await ensureDir(dirname(target));
  const staged = stagingPath(target, entry.sha256);
  ctx.onTransfer(path, 'download', 0, entry.size);
  let got: Entry;
  try {
    got = await ctx.run((c) =>
      c.download(remotePathOf(ctx, entry.path), staged, {
        entry: { ...entry, path: remotePathOf(ctx, entry.path) },
        signal: ctx.signal,
        ...(ctx.compress === true ? { compress: true } : {}),
        keepPartialOnAbort: true,
        onProgress: (p) => ctx.onTransfer(path, 'download', p.bytes, p.total),
      }),
    );
  } finally {
    ctx.onTransfer(path, 'download', null, entry.size);
  }
  if (expect === null) {
    if (!(await placeNew(staged, target))) return skipped('appearedLocally');
  } else {
    // The local file changed while the download ran: keep it, the next pass decides.
    if (!(await stillMatches(target, expect))) return skipped('changedLocally');
    await placeOver(staged, target);
  }
  const stats = await statPlaced(target);
  ctx.base.set(path, { kind: 'file', size: got.size, sha256: got.sha256, mtimeMs: stats.mtimeMs, rev: got.rev });
  return done(0, got.size);
}

async function download(ctx: OpContext, op: DownloadOp): Promise<OpOutcome> {
  const entry = { ...op.entry, path: op.path };
  return fetchInto(ctx, op.path, op.expectLocal?.diskPath ?? (await diskPathOf(ctx.root, op.path)), entry, op.expectLocal);
}

async function statPlaced(target: string): Promise<Stats> {
  try {
    return await lstat(target);
  } catch (err) {
    throw localError(err, `cannot read ${target}`);
  }
}

async function deleteLocal(ctx: OpContext, path: string, expect: LocalState): Promise<OpOutcome> {
  const target = localPath(ctx.root, expect.diskPath);
  const stats = await lstatOrNull(target);
  if (stats === null) {
    ctx.base.delete(path);
    return DONE;
  }
  if (!(await stillMatches(target, expect))) return skipped('changedLocally');
  if (expect.kind === 'dir') {
    // Only a folder holding nothing but ignored names goes; they go to the trash with it.
    const names = await readdir(target);
    if (names.some((name) => !ctx.isIgnored(joinPath(path, name.normalize('NFC')), false))) return skipped('notEmpty');
  }
  await ctx.trash.keep(ctx.root, expect.diskPath, ctx.now());
  ctx.base.delete(path);
  return DONE;
}

async function mkdirRemote(ctx: OpContext, path: string): Promise<Entry> {
  const remotePath = remotePathOf(ctx, path);
  try {
    return await ctx.run((c) => c.mkdir(remotePath, { signal: ctx.signal }));
  } catch (err) {
    if (!(err instanceof FosError && err.code === 'FOS_ERR_PATH_EXISTS')) throw err;
    const entry = await ctx.run((c) => c.stat(remotePath, { signal: ctx.signal }));
    if (entry.kind !== 'dir') throw new FosError('FOS_ERR_STORE_CONFLICT', `${remotePath} is a file on the server`);
    return entry;
  }
}

/** Local file lost: it moves aside to the copy name, reaches the server, and the remote version takes the name. */
async function localLoses(ctx: OpContext, op: ConflictOp): Promise<OpOutcome> {
  const from = localPath(ctx.root, op.local.diskPath);
  if (!(await stillMatches(from, op.local))) return skipped('changedLocally');
  const copyDisk = await diskPathOf(ctx.root, op.copyPath);
  if (!(await renameNoClobber(from, localPath(ctx.root, copyDisk)))) return skipped('appearedLocally');
  const copy: LocalState = { ...op.local, path: op.copyPath, diskPath: copyDisk };
  const sent = await upload(ctx, op.copyPath, copy, null);
  if (sent.kind === 'skipped') return sent;
  const conflict: ConflictCopy = { path: op.path, copyPath: op.copyPath, loser: 'local' };
  if (op.remote.kind === 'dir') {
    await ensureDir(localPath(ctx.root, await diskPathOf(ctx.root, op.path)));
    ctx.base.set(op.path, DIR_BASE(op.remote.rev));
    return done(sent.uploaded, 0, conflict);
  }
  const got = await fetchInto(ctx, op.path, await diskPathOf(ctx.root, op.path), { ...op.remote, path: op.path }, null);
  return got.kind === 'done' ? done(sent.uploaded, got.downloaded, conflict) : got;
}

/** Remote file lost to a local folder: it moves aside on the server and comes down under the copy name. */
async function remoteLoses(ctx: OpContext, op: ConflictOp): Promise<OpOutcome> {
  if (!(await stillMatches(localPath(ctx.root, op.local.diskPath), op.local))) return skipped('changedLocally');
  const moved = await ctx.run((c) =>
    c.move(remotePathOf(ctx, op.path), remotePathOf(ctx, op.copyPath), { baseRev: op.remote.rev, signal: ctx.signal }),
  );
  const entry = moved.find((e) => syncPathOf(ctx, e.path) === op.copyPath);
  if (entry === undefined) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `the server's MOVE reply lacks ${op.copyPath}`);
  const got = await fetchInto(ctx, op.copyPath, await diskPathOf(ctx.root, op.copyPath), { ...entry, path: op.copyPath }, null);
  const dir = await mkdirRemote(ctx, op.path);
  ctx.base.set(op.path, DIR_BASE(dir.rev));
  const conflict: ConflictCopy = { path: op.path, copyPath: op.copyPath, loser: 'remote' };
  return got.kind === 'done' ? done(0, got.downloaded, conflict) : got;
}

/**
 * Moves the manifest records at or under `from` to `to`: revisions from `revOf` (the
 * server's view of the new paths), mtimes kept (a rename keeps them), `fileMtimeMs` for a
 * single file when given.
 */
function rekeyBase(
  base: BaseStore,
  from: string,
  to: string,
  revOf: (path: string) => number | undefined,
  fileMtimeMs: number | null,
): void {
  const moving = [...base.records].filter(([path]) => isAtOrUnder(path, from));
  for (const [path] of moving) base.delete(path);
  for (const [path, state] of moving) {
    const target = to + path.slice(from.length);
    const mtimeMs = path === from && fileMtimeMs !== null ? fileMtimeMs : state.mtimeMs;
    base.set(target, { ...state, mtimeMs, rev: revOf(target) ?? state.rev });
  }
}
