/**
 * The shell of `fos status --why PATH`: gathers what is known about one path (the local
 * file, the manifest record, the server's entry, the agent's errors and skips) and decides
 * it with the pass's own code: the change feed read into the remote view, the scan and
 * reconcile of a whole-folder round (round.ts), the settle check and the guard. Moves,
 * collisions, conflict copies and the guard depend on other paths, so the round covers
 * the whole folder as a full pass does; the scan hashes only files that differ from the
 * manifest. Read-only: nothing is written to the folder, the state folder or the server.
 */
import { relative, resolve, sep } from 'node:path';
import type { FosClient } from '../client/index.js';
import { asFosError, FosError } from '../errors.js';
import type { Entry } from '../protocol/types.js';
import type { GuardReport, PathError, PlannedOp, SkippedOp } from './engine-types.js';
import { describeDecision, explainPath, problemHolds, touchesPath } from './explain.js';
import type { Decision } from './explain.js';
import { remoteViewFile } from './folder-pair.js';
import { loadIgnoreMatcher } from './ignore.js';
import type { IgnoreMatch } from './ignore.js';
import { localPath, lstatOrNull, sameMtime } from './local-fs.js';
import { manifestFile, readManifest } from './manifest.js';
import type { HeldRecord } from './manifest.js';
import { isAtOrUnder, joinPath, toNfc } from './path-tree.js';
import { pendingIn } from './held-deletions.js';
import { guardReport, rootGuardReport } from './pass.js';
import { describeOp } from './plan-totals.js';
import { reconcile } from './reconcile.js';
import { RemoteView } from './remote-view.js';
import { checkRoot, FOS_DIR } from './root-identity.js';
import { catchUp, planRound, splitSettling } from './round.js';
import type { Round, RoundSource } from './round.js';
import { SettleTracker } from './settle.js';
import type { BaseState, LocalState, ReconcileOptions } from './types.js';

/** A folder pair as the config names it. */
export interface WhyFolder {
  readonly local: string;
  readonly remote: string;
  readonly id: string;
}

/** Where a `--why` argument points: a folder pair and a sync path in it. */
export interface LocatedPath<F extends WhyFolder = WhyFolder> {
  readonly folder: F;
  readonly path: string;
}

/**
 * Finds the folder pair and sync path of `arg`: a local path (absolute, or relative to
 * `cwd`) inside one of the folders (the innermost, for nested ones), else a sync path
 * (relative to the pair's root, a leading `/` allowed) when there is only one pair.
 * @throws FosError `FOS_ERR_CLI_USAGE` for a pair's root or a path in no pair;
 * `FOS_ERR_PATH_BAD` for `.` or `..` segments in a sync path.
 */
export function locatePath<F extends WhyFolder>(arg: string, cwd: string, folders: readonly F[]): LocatedPath<F> {
  const abs = resolve(cwd, arg);
  const inside = folders
    .filter((f) => abs === f.local || abs.startsWith(f.local.endsWith(sep) ? f.local : `${f.local}${sep}`))
    .sort((a, b) => b.local.length - a.local.length)[0];
  let located: LocatedPath<F>;
  if (inside !== undefined) {
    located = { folder: inside, path: toNfc(relative(inside.local, abs).split(sep).join('/')) };
  } else {
    const only = folders.length === 1 ? folders[0] : undefined;
    if (only === undefined) {
      throw new FosError('FOS_ERR_CLI_USAGE', `${abs} is not inside a synced folder (${folders.map((f) => f.local).join(', ')}); give a path inside one`);
    }
    const segments = arg.split('/').filter((s) => s !== '');
    if (segments.some((s) => s === '.' || s === '..')) throw new FosError('FOS_ERR_PATH_BAD', `bad sync path ${JSON.stringify(arg)}: '.' and '..' are not allowed`);
    located = { folder: only, path: toNfc(segments.join('/')) };
  }
  if (located.path === '') {
    throw new FosError('FOS_ERR_CLI_USAGE', `${located.folder.local} is a synced folder itself: \`fos status\` shows it; --why takes a path inside it`);
  }
  return located;
}

/**
 * How the local content is known: `hashed` when the scan had to hash the file (its size
 * or mtime differ from the manifest), `unchanged` when they match the manifest (the scan
 * trusts the recorded hash), `none` for a folder or a path the scan does not take in
 * (ignored, left alone).
 */
export type Hashing = 'hashed' | 'unchanged' | 'none';

/** The local side of a path. `sha256` only when the scan had to hash it. */
export type LocalFacts =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly kind: 'file' | 'dir' | 'symlink' | 'special';
      /** Bytes; 0 for anything but a file. */
      readonly size: number;
      /** ms since the epoch; 0 for a folder. */
      readonly mtimeMs: number;
      readonly sha256: string | null;
      readonly hashing: Hashing;
    };

/** The server's side of a path. */
export interface ServerFacts {
  readonly reachable: boolean;
  /** Why the server could not be reached, or why it refused the STAT; null when it answered. */
  readonly error: string | null;
  /** The entry (STAT); null when there is none or the server could not be asked. */
  readonly entry: Entry | null;
}

/** Everything `fos status --why` reports on one path. */
export interface WhyReport {
  readonly path: string;
  readonly pair: { readonly local: string; readonly remote: string };
  readonly localPath: string;
  readonly remotePath: string;
  readonly local: LocalFacts;
  readonly manifest: BaseState | null;
  readonly server: ServerFacts;
  readonly decision: Decision & { readonly message: string };
  /**
   * What the next pass does with the path (for a guard, `--force` would add the decision's
   * `held`); null when the server cannot be reached and that is not known yet.
   */
  readonly next: readonly PlannedOp[] | null;
}

/** What `explainSyncPath` needs. */
export interface WhyOptions {
  readonly located: LocatedPath;
  readonly stateDir: string;
  readonly device: string;
  readonly ignore: readonly string[];
  readonly settleMs: number;
  readonly reconcile: ReconcileOptions & { readonly maxConflictCopies: number; readonly maxDeleteShare: number };
  /** The pair's errors and skips as the agent reports them (running, or from its status file). */
  readonly agent: { readonly errors: readonly PathError[]; readonly pending: readonly SkippedOp[] } | null;
  /** Connects and logs in; throws when the server cannot be reached. */
  readonly connect: (signal: AbortSignal) => Promise<FosClient>;
  readonly now: number;
  readonly signal: AbortSignal;
}

/**
 * Explains one path.
 * @throws FosError `FOS_ERR_SYNC_MANIFEST` when the manifest cannot be read,
 * `FOS_ERR_SYNC_LOCAL_IO` when the folder cannot be read; the abort error.
 */
export async function explainSyncPath(options: WhyOptions): Promise<WhyReport> {
  const { located, now, signal } = options;
  const { folder, path } = located;
  const manifest = await readManifest(manifestFile(options.stateDir, folder.id));
  const records = new Map(Object.entries(manifest.entries));
  const view = await RemoteView.load(remoteViewFile(options.stateDir, folder.id), folder.remote);
  const matcher = await loadIgnoreMatcher(folder.local, { patterns: options.ignore });
  const source: RoundSource = {
    local: folder.local,
    device: options.device,
    view,
    settle: new SettleTracker(options.settleMs),
    isIgnored: (p, isDir) => matcher.isIgnored(p, isDir),
    manifest: { records },
  };
  const remotePath = joinPath(folder.remote, path);
  const server = await askServer(options, source, remotePath);

  const root = await checkRoot(folder.local, manifest.root, { force: false });
  const base = records.get(path) ?? null;
  const remote = view.entries.get(path) ?? null;
  let round: Round | null = null;
  let guard: GuardReport | null = null;
  let next: PlannedOp[] = [];
  let held: PlannedOp[] = [];
  let settleAt: number | null = null;
  if (root.state === 'present') {
    round = await planRound(source, [''], { now, reconcile: { ...options.reconcile, force: false }, signal, isPending: pendingIn(manifest.held ?? []) });
    const ops = round.plan.ops.filter((op) => touchesPath(describeOp(op), path));
    next = ops.map(describeOp);
    settleAt = splitSettling(ops, source.settle, now).settleAt;
    if (round.plan.guard !== null) {
      guard = guardReport(round.plan, folder, options.reconcile);
      held = heldBack(round, path, next);
    }
  } else {
    guard = rootGuardReport(root, records);
  }
  // The name as given, or another spelling of it on disk (NFD).
  const scanned = round?.local.get(path) ?? [...(round?.local.values() ?? [])].find((state) => state.path === path);
  const local: LocalFacts =
    scanned === undefined
      ? await lstatFacts(localPath(folder.local, path))
      : { exists: true, kind: scanned.kind, size: scanned.size, mtimeMs: scanned.mtimeMs, ...hashFacts(scanned, base) };
  const isDir = (local.exists && local.kind === 'dir') || base?.kind === 'dir' || remote?.kind === 'dir';
  const agent = options.agent;
  const decision = explainPath({
    path,
    ignored: ignoredBy(matcher.explain(path, isDir), path),
    scanSkip: round?.skipped.find((s) => isAtOrUnder(path, s.path))?.why ?? null,
    error: agent?.errors.find((e) => e.path === path) ?? null,
    unreachable: server.reachable ? null : (server.error ?? 'unknown error'),
    pending: agent?.pending.find((p) => p.path === path) ?? null,
    settleAt,
    problems: round?.plan.problems.filter((p) => problemHolds(p, path)) ?? [],
    guard,
    heldByGuard: held,
    heldBatch: heldBatchOf(manifest.held ?? [], path),
    next,
    localExists: local.exists,
    base,
    remote,
    maxConflictCopies: options.reconcile.maxConflictCopies,
  });
  return {
    path,
    pair: { local: folder.local, remote: folder.remote },
    localPath: localPath(folder.local, path),
    remotePath,
    local,
    manifest: base,
    server,
    decision: { ...decision, message: describeDecision(decision) },
    next: server.reachable ? next : null,
  };
}

/** fos's own `.fos` folder is ignored whatever the rules say (a round adds it to every matcher). */
function ignoredBy(match: IgnoreMatch | null, path: string): IgnoreMatch | null {
  return match ?? (isAtOrUnder(path, FOS_DIR) ? { pattern: `${FOS_DIR}/`, source: 'fos' } : null);
}

/**
 * Reads the change feed into the view (in memory, as a pass does first) and STATs the
 * path. The saved view alone is no answer when the server is out of reach: it may lag
 * behind the manifest (a pass's own changes reach it only through the next feed read).
 */
async function askServer(options: WhyOptions, source: RoundSource, remotePath: string): Promise<ServerFacts> {
  const unreachable = (error: unknown): ServerFacts => ({ reachable: false, error: asFosError(error).message, entry: null });
  let client: FosClient;
  try {
    client = await options.connect(options.signal);
  } catch (err) {
    if (options.signal.aborted) throw err;
    return unreachable(err);
  }
  try {
    await catchUp(source, (fn) => fn(client), options.signal);
    try {
      return { reachable: true, error: null, entry: await client.stat(remotePath, { signal: options.signal }) };
    } catch (err) {
      const fos = asFosError(err);
      if (fos.code === 'FOS_ERR_PATH_NOT_FOUND') return { reachable: true, error: null, entry: null };
      if (fos.code === 'FOS_ERR_PATH_BAD') return { reachable: true, error: fos.message, entry: null };
      throw err;
    }
  } catch (err) {
    if (options.signal.aborted) throw err;
    return unreachable(err);
  } finally {
    await client.close();
  }
}

/** The pending batch whose deletions include `path`, or null. */
function heldBatchOf(held: readonly HeldRecord[], path: string): { id: string; side: HeldRecord['side'] } | null {
  const record = held.find((h) => h.paths.includes(path));
  return record === undefined ? null : { id: record.id, side: record.side };
}

/** What `--force` would add for the path: the guard removed these from the plan. */
function heldBack(round: Round, path: string, next: readonly PlannedOp[]): PlannedOp[] {
  const forced = reconcile({ ...round.input, options: { ...round.input.options, force: true } });
  const planned = new Set(next.map((op) => JSON.stringify(op)));
  return forced.ops.map(describeOp).filter((op) => touchesPath(op, path) && !planned.has(JSON.stringify(op)));
}

function hashFacts(state: LocalState, base: BaseState | null): { sha256: string | null; hashing: Hashing } {
  if (state.kind !== 'file') return { sha256: null, hashing: 'none' };
  const known = base !== null && base.kind === 'file' && base.size === state.size && sameMtime(base.mtimeMs, state.mtimeMs);
  return known ? { sha256: null, hashing: 'unchanged' } : { sha256: state.sha256, hashing: 'hashed' };
}

/** What is at a path the scan did not take in (ignored, left alone, or the root is gone). */
async function lstatFacts(abs: string): Promise<LocalFacts> {
  const stats = await lstatOrNull(abs);
  if (stats === null) return { exists: false };
  const kind = stats.isFile() ? 'file' : stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'symlink' : 'special';
  return { exists: true, kind, size: kind === 'file' ? stats.size : 0, mtimeMs: kind === 'dir' ? 0 : stats.mtimeMs, sha256: null, hashing: 'none' };
}
