/**
 * RESTORE: a folder returned to its state at a moment, in one commit under the user's
 * lock. The plan is pure (restore-plan.ts); this file reads what it needs, copies the old
 * versions out of the trash (the trash keeps them), and carries the plan out the way the
 * other changes do: what goes, goes to the trash; files come into place by rename.
 */
import { lstat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FosError, errnoCode } from '../errors.js';
import { fsyncDir } from '../fs/atomic.js';
import { storageError } from '../fs/fs.js';
import { copyFileHashed } from '../fs/hash.js';
import type { Change, CommittedEntry, TrashRecord } from '../store/types.js';
import { recordCarriedOut } from './held-batches.js';
import { planRestore, versionsToRestore } from './restore-plan.js';
import type { RestorePlan, RestoreStep, UnrecoverableReason } from './restore-plan.js';
import { removeEmptyDir } from './storage-changes.js';
import { commitChanges, diskPath, missingParents, tombstoneOf } from './storage-context.js';
import type { StorageContext } from './storage-context.js';

/** What to restore, and where the copies wait. */
export interface RestoreRequest {
  /** Canonical path of the folder (or file); '' for everything. */
  readonly path: string;
  /** The moment, ms since the epoch. */
  readonly at: number;
  /** Plan and report only. */
  readonly dryRun: boolean;
  /** How long the trash keeps versions: an older moment cannot be rebuilt. */
  readonly retentionMs: number;
  /** A folder of the restore's own, on the same filesystem as the files, for the copies. */
  readonly workDir: string;
}

/** What a restore did (or, for a dry run, would do). */
export interface RestoreOutcome {
  readonly plan: RestorePlan;
  /** The revision of the restore's commit; null for a dry run or when nothing changed. */
  readonly rev: number | null;
}

/**
 * Returns `request.path` to its state at `request.at`.
 * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` (details.reason `future` or `retention`)
 * for a moment the history cannot hold, `FOS_ERR_PATH_EXISTS` when a file above the folder
 * is in the way, storage errors. Nothing changes before the plan is final; a failure while
 * it is carried out commits what was done, so the store always matches the disk.
 */
export async function restoreTree(ctx: StorageContext, user: string, request: RestoreRequest): Promise<RestoreOutcome> {
  const { path, at } = request;
  checkMoment(at, ctx.clock.now(), request.retentionMs);
  return ctx.store.withUserLock(user, async () => {
    const live = await ctx.store.listCommitted(user, path);
    const versions = await ctx.store.listTrashAt(user, path, at);
    const draft = planRestore({ path, at, live, versions, unavailable: new Map() });
    const copies = new Map<string, string>();
    const unavailable = new Map<string, UnrecoverableReason>();
    for (const version of versionsToRestore(draft)) {
      const reason = request.dryRun ? await checkKept(ctx, version) : await copyOut(ctx, version, request.workDir, copies);
      if (reason !== null) unavailable.set(version.id, reason);
    }
    const plan = unavailable.size === 0 ? draft : planRestore({ path, at, live, versions, unavailable });
    const isCreating = plan.steps.some((step) => step.action === 'restore' || step.action === 'mkdir');
    // Folders above the restored one: only those it needs, and none where a file is.
    const parents = isCreating && path !== '' ? await missingParents(ctx, user, path, ctx.clock.now()) : [];
    if (request.dryRun) return { plan, rev: null };
    const rev = await carryOut(ctx, user, plan, parents, copies);
    if (rev !== null) await recordDeletions(ctx, user, path, rev, plan);
    return { plan, rev };
  });
}

/**
 * The restore's deletions, recorded as decided (issue 11): a restore that removes most of a
 * folder must reach the devices, not be held there as a mass deletion. The restore stands
 * when this fails; the devices then hold the deletions, which loses nothing.
 */
async function recordDeletions(ctx: StorageContext, user: string, path: string, rev: number, plan: RestorePlan): Promise<void> {
  const deleted = plan.steps.flatMap((step) => (step.action === 'delete' ? [step.entry] : []));
  try {
    const batch = await recordCarriedOut(ctx, user, { folder: path, commitRev: rev, deleted });
    if (batch !== null) ctx.logger.info({ user, batch: batch.id, count: batch.count, rev }, 'restore deletions recorded as approved');
  } catch (err) {
    ctx.logger.warn({ err, user, rev }, 'cannot record the restore deletions as approved; devices will hold them for a person');
  }
}

/** Refuses a moment in the future or before the oldest version the trash still keeps. */
function checkMoment(at: number, now: number, retentionMs: number): void {
  if (at > now) {
    throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${new Date(at).toISOString()} is in the future (the server's time is ${new Date(now).toISOString()})`, {
      details: { reason: 'future', nowMs: now },
    });
  }
  const earliest = now - retentionMs;
  if (at < earliest) {
    const days = Math.round((retentionMs / 86_400_000) * 10) / 10;
    throw new FosError(
      'FOS_ERR_PROTO_BAD_REQUEST',
      `${new Date(at).toISOString()} is before the trash's retention window (${days} days): the server can restore to ${new Date(earliest).toISOString()} or later`,
      { details: { reason: 'retention', earliestMs: earliest } },
    );
  }
}

/** Why a kept version cannot be used, judged by its file's presence, type and size; null when it looks whole. */
async function checkKept(ctx: StorageContext, version: TrashRecord): Promise<UnrecoverableReason | null> {
  const file = ctx.trash.fileOf(version);
  if (file === null) return 'missing';
  try {
    const info = await lstat(file);
    return info.isFile() && info.size === version.size ? null : 'damaged';
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'missing';
    throw storageError(err, `cannot inspect the kept version of ${JSON.stringify(version.path)}`);
  }
}

/**
 * Copies a kept version into `workDir` and checks its size and SHA-256 against the
 * record; the copy gets the version's mtime (start-up reconciliation compares it).
 * Records the copy in `copies` by record id.
 */
async function copyOut(ctx: StorageContext, version: TrashRecord, workDir: string, copies: Map<string, string>): Promise<UnrecoverableReason | null> {
  const checked = await checkKept(ctx, version);
  const file = ctx.trash.fileOf(version);
  if (checked !== null || file === null) return checked ?? 'missing';
  // Numbered, not named after the record: a record's id is data, never part of a path.
  const copy = join(workDir, String(copies.size));
  try {
    await ctx.fs.mkdirp(workDir);
    const copied = await copyFileHashed(file, copy, { fs: ctx.fs });
    if (copied.bytes !== version.size || copied.sha256 !== version.sha256) {
      await ctx.fs.unlink(copy);
      return 'damaged';
    }
    await utimes(copy, version.mtimeMs / 1000, version.mtimeMs / 1000);
  } catch (err) {
    if (err instanceof FosError && err.code === 'FOS_ERR_PATH_NOT_FOUND') return 'missing';
    throw storageError(err, `cannot copy the kept version of ${JSON.stringify(version.path)}`);
  }
  copies.set(version.id, copy);
  return null;
}

/**
 * Carries a final plan out: files that go to the trash, folders that go (deepest first),
 * folders that come (shallowest first), files into place. Returns the commit's revision.
 */
async function carryOut(
  ctx: StorageContext,
  user: string,
  plan: RestorePlan,
  parents: readonly Change[],
  copies: ReadonlyMap<string, string>,
): Promise<number | null> {
  const now = ctx.clock.now();
  // By path: a path whose old entry went and whose new one came holds the latter.
  const changes = new Map<string, Change>();
  const touched = new Set<string>();
  const at = async (path: string): Promise<string> => {
    const target = await diskPath(ctx, user, path);
    touched.add(dirname(target));
    return target;
  };
  try {
    const leaving = plan.steps.flatMap(leavingFile);
    for (const entry of leaving) {
      await ctx.trash.keep(user, entry, await at(entry.path), now);
      changes.set(entry.path, tombstoneOf(entry));
    }
    if (leaving.length > 0) await ctx.trash.sync(user);
    for (const entry of plan.steps.flatMap(leavingFolder).sort((a, b) => b.path.length - a.path.length)) {
      await removeEmptyDir(await at(entry.path));
      changes.set(entry.path, tombstoneOf(entry));
    }
    const folders: Change[] = [
      ...parents,
      ...plan.steps.flatMap((step): Change[] =>
        step.action === 'mkdir' ? [{ path: step.path, kind: 'dir', size: 0, mtimeMs: now, sha256: '', deleted: false }] : [],
      ),
    ];
    for (const folder of folders) {
      try {
        await ctx.fs.mkdirp(await at(folder.path));
      } catch (err) {
        throw storageError(err, `cannot create ${JSON.stringify(folder.path)}`);
      }
      changes.set(folder.path, folder);
    }
    for (const step of plan.steps) {
      if (step.action !== 'restore') continue;
      const copy = copies.get(step.version.id);
      if (copy === undefined) throw new FosError('FOS_ERR_STORE_WRITE', `no copy of the kept version of ${JSON.stringify(step.path)}`);
      try {
        await ctx.fs.rename(copy, await at(step.path));
      } catch (err) {
        throw storageError(err, `cannot move the kept version of ${JSON.stringify(step.path)} into place`);
      }
      const { path, size, mtimeMs, sha256 } = step.version;
      changes.set(path, { path, kind: 'file', size, mtimeMs, sha256, deleted: false });
    }
    for (const folder of touched) {
      await fsyncDir(folder, { fs: ctx.fs }).catch((err: unknown) => {
        // A folder removed above is gone, and its own parent is in the set too.
        if (!(err instanceof FosError && err.code === 'FOS_ERR_PATH_NOT_FOUND')) throw err;
      });
    }
  } catch (err) {
    if (changes.size > 0) {
      // What was done stays done (nothing is lost: what went is in the trash); the store
      // records it so that it matches the disk, then the failure is reported.
      await commitChanges(ctx, user, [...changes.values()]).catch((commitErr: unknown) => {
        ctx.logger.error({ err: commitErr, user }, 'cannot record a restore cut short; start-up reconciliation will');
      });
    }
    throw err;
  }
  const entries = await commitChanges(ctx, user, [...changes.values()]);
  return entries[0]?.rev ?? null;
}

/** The live file a step sends to the trash, if any. */
function leavingFile(step: RestoreStep): CommittedEntry[] {
  const entry = step.action === 'delete' ? step.entry : step.action === 'restore' || step.action === 'mkdir' ? step.replaces : null;
  return entry?.kind === 'file' ? [entry] : [];
}

/** The live folder a step removes, if any. */
function leavingFolder(step: RestoreStep): CommittedEntry[] {
  const entry = step.action === 'delete' ? step.entry : step.action === 'restore' ? step.replaces : null;
  return entry?.kind === 'dir' ? [entry] : [];
}
