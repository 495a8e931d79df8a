/**
 * One sync pass over a folder pair: check the root's identity, catch up with the server's
 * change feed, scan (the whole folder, or only a scope), reconcile, apply the guard, run
 * the plan, and save the manifest and the remote view. A path the server refused or that
 * changed under the executor is planned again in a further round, so a lost update turns
 * into a conflict copy within the same pass.
 */
import type { Clock, FosClient } from '../client/index.js';
import type { ExecutionReport, GuardReport, PassReport, PlannedOp, SkippedOp } from './engine-types.js';
import { executePlan } from './executor.js';
import type { ExecutorOptions } from './executor.js';
import type { FolderPair } from './folder-pair.js';
import { countOps, opPath } from './order.js';
import { isAtOrUnder } from './path-tree.js';
import { reconcile, RECONCILE_DEFAULTS } from './reconcile.js';
import { checkRoot, FOS_DIR } from './root-identity.js';
import { minimalScope, restrict, scanScope } from './scope.js';
import type { LocalRootState, Op, Plan, ReconcileOptions } from './types.js';

/** Options of `runPass`. */
export interface PassOptions {
  /** Runs `fn` on a pooled client with retries of transient failures. */
  readonly run: <T>(fn: (client: FosClient) => Promise<T>) => Promise<T>;
  readonly clock: Clock;
  /** Aborts everything, transfers included. */
  readonly signal: AbortSignal;
  /** Stops scheduling new operations; the ones in hand finish (SIGTERM). */
  readonly stop?: AbortSignal;
  /** Plan only: no change anywhere, nothing saved. */
  readonly dryRun?: boolean;
  /** Carry out deletions despite a tripped guard, and adopt a replaced root. */
  readonly force?: boolean;
  /**
   * Only these sync paths (and below, and above) plus whatever the change feed touched;
   * absent: the whole folder. A tripped guard widens a scoped pass to the whole folder.
   */
  readonly scope?: readonly string[];
  readonly concurrency?: number;
  readonly reconcile?: Pick<ReconcileOptions, 'maxDeleteShare' | 'minGuardDeletions' | 'caseInsensitive' | 'maxConflictCopies'>;
  /**
   * Save the remote view and flush the manifest at the end (default true). The agent
   * saves on its own schedule instead: either order of the two files is safe to resume.
   */
  readonly save?: boolean;
  /** Rounds a pass may take to settle refusals (default 3). */
  readonly maxRounds?: number;
  readonly onTransfer?: (path: string, direction: 'upload' | 'download', bytes: number | null, total: number) => void;
  readonly onQueue?: ExecutorOptions['onQueue'];
  readonly onOutcome?: ExecutorOptions['onOutcome'];
  /**
   * Told when the server's revision is behind the one this pair last saw (its database was
   * restored or lost its last writes in a crash): the pass then reads the whole change
   * feed again and looks at the whole folder.
   */
  readonly onHistoryReset?: (serverRev: number, cursor: number) => void;
}

const EMPTY_EXECUTION: ExecutionReport = Object.freeze({
  done: countOps([]),
  conflicts: [],
  skipped: [],
  failed: [],
  bytesUploaded: 0,
  bytesDownloaded: 0,
  offline: false,
});

/** Skip reasons after which another round may finish the job now. */
const ROUND_AGAIN = new Set(['staleRemote', 'appearedLocally', 'changedLocally']);

/**
 * Runs one pass over `pair`.
 * @throws FosError when the server cannot be reached for the change feed (the caller
 * retries later), when the root cannot be read, or the abort error.
 */
export async function runPass(pair: FolderPair, options: PassOptions): Promise<PassReport> {
  const { clock } = options;
  const startedAt = clock.now();
  const dryRun = options.dryRun === true;
  const force = options.force === true;
  const reconcileOptions: ReconcileOptions = { ...RECONCILE_DEFAULTS, ...options.reconcile, force };
  const finish = (parts: Partial<PassReport> & { execution: ExecutionReport }): PassReport => {
    const guard = parts.guard ?? null;
    const problems = parts.problems ?? [];
    const execution = parts.execution;
    const retryAt = earliest(pair.errors.nextRetryAt(), parts.retryAt ?? null);
    return {
      local: pair.local,
      remote: pair.remote,
      startedAt,
      finishedAt: clock.now(),
      dryRun,
      planned: parts.planned ?? [],
      execution,
      guard,
      problems,
      cursor: pair.view.cursor,
      inSync:
        guard === null &&
        problems.length === 0 &&
        execution.failed.length === 0 &&
        execution.skipped.length === 0 &&
        !execution.offline &&
        retryAt === null,
      retryAt,
    };
  };

  const root = await checkRoot(pair.local, pair.manifest.root, { force, create: !dryRun });
  if (root.state !== 'present') {
    const guard: GuardReport = { kind: root.state === 'missing' ? 'rootMissing' : 'rootReplaced', deletions: 0, total: countFiles(pair), blocked: true, message: `${root.message}; nothing was synced or deleted` };
    return finish({ execution: EMPTY_EXECUTION, guard });
  }
  if (root.changed && !dryRun) pair.manifest.root = root.identity;
  const localRoot: LocalRootState = 'present';

  const planned: PlannedOp[] = [];
  const executions: ExecutionReport[] = [];
  let guard: GuardReport | null = null;
  let lastPlan: Plan | null = null;
  let scope: string[] = options.scope === undefined ? [''] : [...options.scope];
  let settleAt: number | null = null;
  const maxRounds = Math.max(1, options.maxRounds ?? 3);

  for (let round = 0; round < maxRounds; round += 1) {
    const feed = (since: number) => options.run((c) => c.changesSince(since, { ...optionalPath(pair.view.feedPath), signal: options.signal }));
    let listing = await feed(pair.view.cursor);
    if (listing.rev < pair.view.cursor) {
      // The server's history went back: the revisions this pair saw after listing.rev were
      // lost there, and changes made since reuse their numbers, so the feed from our cursor
      // would hide them for good. Rebuild the view from the whole feed; reconcile compares
      // content, so equal files are re-recorded and nothing is deleted for it.
      options.onHistoryReset?.(listing.rev, pair.view.cursor);
      pair.view.reset();
      listing = await feed(0);
      scope = [''];
    }
    const touched = pair.view.apply(listing);
    if (!scope.includes('')) scope = minimalScope([...scope, ...touched]);
    if (scope.length === 0) break;

    const scanned = await scanScope(pair.local, scope, pair.manifest.records, { isIgnored: pair.isIgnored, signal: options.signal });
    const held = scanned.skipped.map((s) => s.path);
    const now = clock.now();
    for (const skip of scanned.skipped) pair.errors.record(skip.path, 'upload', new Error(skip.why), now);
    const isIgnored = (path: string, isDir: boolean): boolean =>
      isAtOrUnder(path, FOS_DIR) || pair.isIgnored(path, isDir) || held.some((h) => isAtOrUnder(path, h));

    let plan = reconcile({
      base: restrict(pair.manifest.records, scope),
      local: scanned.local,
      remote: restrict(pair.view.entries, scope),
      device: pair.device,
      now,
      localRoot,
      isIgnored,
      options: reconcileOptions,
    });
    if (plan.guard !== null && !scope.includes('')) {
      // A guard on a part of the folder may be an artefact of the part: decide on the whole.
      scope = [''];
      round -= 1;
      continue;
    }
    lastPlan = plan;
    if (plan.guard !== null) guard = guardReport(plan, pair, reconcileOptions.maxDeleteShare ?? 0.5);

    const ready: Op[] = [];
    const settling: SkippedOp[] = [];
    for (const op of plan.ops) {
      const local = uploadedState(op);
      const at = local === null ? now : pair.settle.settledAt(local, now);
      if (at > now) {
        settling.push({ path: opPath(op), kind: op.kind, reason: 'settling' });
        settleAt = earliest(settleAt, at);
      } else {
        ready.push(op);
      }
    }
    planned.push(...ready.map(describeOp));
    if (dryRun) {
      executions.push({ ...EMPTY_EXECUTION, skipped: settling });
      break;
    }
    plan = { ...plan, ops: ready };
    const execution = await executePlan(plan.ops, opContext(pair, options), {
      concurrency: options.concurrency ?? 4,
      errors: pair.errors,
      ...(options.stop === undefined ? {} : { stop: options.stop }),
      ...(options.onQueue === undefined ? {} : { onQueue: options.onQueue }),
      ...(options.onOutcome === undefined ? {} : { onOutcome: options.onOutcome }),
    });
    executions.push({ ...execution, skipped: [...execution.skipped, ...settling] });
    clearSettled(pair, scope, plan, held);
    if (execution.offline || options.stop?.aborted === true) break;
    const again = execution.skipped.filter((s) => ROUND_AGAIN.has(s.reason)).map((s) => s.path);
    const copies = execution.conflicts.map((c) => c.copyPath);
    if (again.length === 0) break;
    scope = minimalScope([...again, ...copies]);
  }

  if (!dryRun && options.save !== false) {
    // Either file may be newer after a crash: reconcile records equal content on both
    // sides as agreed, so a lagging manifest or view only costs a re-check.
    await pair.view.save();
    pair.manifest.cursor = pair.view.cursor;
    await pair.manifest.flush();
  }
  const execution = mergeExecutions(executions);
  return finish({
    // The last round's skips count, and files still settling from any round: a later
    // round looks only at the paths it retries, so it never planned those again.
    execution: { ...execution, skipped: pendingSkips(executions) },
    guard,
    problems: lastPlan?.problems ?? [],
    planned,
    retryAt: settleAt,
  });
}

function optionalPath(path: string | undefined): { path?: string } {
  return path === undefined ? {} : { path };
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function countFiles(pair: FolderPair): number {
  let n = 0;
  for (const state of pair.manifest.records.values()) if (state.kind === 'file') n++;
  return n;
}

/** The local file an operation sends to the server, which must have settled first. */
function uploadedState(op: Op): Parameters<FolderPair['settle']['settledAt']>[0] | null {
  if (op.kind === 'upload') return op.local;
  if (op.kind === 'conflict' && op.loser === 'local') return op.local;
  return null;
}

function guardReport(plan: Plan, pair: FolderPair, maxDeleteShare: number): GuardReport {
  const guard = plan.guard;
  if (guard === null) throw new TypeError('no guard');
  const share = Math.round(maxDeleteShare * 100);
  const what = guard.blocked ? 'nothing was deleted anywhere; check the folder, then run `fos sync --force` to go ahead' : 'forced: the deletions went ahead';
  const message =
    guard.kind === 'massDelete'
      ? `the pass would delete ${guard.deletions} of ${guard.total} files in ${pair.local} (more than ${share} %); ${what}`
      : guard.kind === 'rootEmpty'
        ? `folder is empty: ${pair.local} has no files where it had ${guard.total}; ${what}`
        : `folder identity changed or folder missing: ${pair.local}; ${what}`;
  return { kind: guard.kind, deletions: guard.deletions, total: guard.total, blocked: guard.blocked, message };
}

function describeOp(op: Op): PlannedOp {
  switch (op.kind) {
    case 'upload':
      return { kind: op.kind, path: op.path, rule: op.rule, bytes: op.local.size };
    case 'download':
      return { kind: op.kind, path: op.path, rule: op.rule, bytes: op.entry.size };
    case 'moveRemote':
    case 'moveLocal':
      return { kind: op.kind, path: op.from, to: op.to, rule: op.rule, entryKind: op.entryKind };
    case 'conflict':
      return { kind: op.kind, path: op.path, to: op.copyPath, rule: op.rule };
    case 'deleteRemote':
      return { kind: op.kind, path: op.path, rule: op.rule, entryKind: op.entryKind };
    case 'deleteLocal':
      return { kind: op.kind, path: op.path, rule: op.rule, entryKind: op.expect.kind };
    case 'mkdirRemote':
    case 'mkdirLocal':
    case 'updateBase':
    case 'dropBase':
      return { kind: op.kind, path: op.path, rule: op.rule };
    default: {
      const unreachable: never = op;
      return unreachable;
    }
  }
}

function opContext(pair: FolderPair, options: PassOptions): Parameters<typeof executePlan>[1] {
  return {
    root: pair.local,
    remoteRoot: pair.remote,
    base: pair.manifest,
    remote: pair.view.entries,
    trash: pair.trash,
    isIgnored: pair.isIgnored,
    run: options.run,
    now: () => options.clock.now(),
    signal: options.signal,
    onTransfer: options.onTransfer ?? ((): void => undefined),
  };
}

/** Scan errors of paths that scanned cleanly and needed nothing are over. */
function clearSettled(pair: FolderPair, scope: readonly string[], plan: Plan, held: readonly string[]): void {
  const busy = new Set(plan.ops.map(opPath));
  for (const error of pair.errors.list()) {
    if (busy.has(error.path) || held.includes(error.path)) continue;
    if (scope.some((s) => s === '' || isAtOrUnder(error.path, s))) pair.errors.clear(error.path);
  }
}

function mergeExecutions(reports: readonly ExecutionReport[]): ExecutionReport {
  const done = { ...countOps([]) } as Record<Op['kind'], number>;
  for (const r of reports) for (const kind of Object.keys(r.done) as Op['kind'][]) done[kind] += r.done[kind];
  return {
    done,
    conflicts: reports.flatMap((r) => r.conflicts),
    skipped: reports.flatMap((r) => r.skipped),
    failed: reports.flatMap((r) => r.failed),
    bytesUploaded: reports.reduce((n, r) => n + r.bytesUploaded, 0),
    bytesDownloaded: reports.reduce((n, r) => n + r.bytesDownloaded, 0),
    offline: reports.some((r) => r.offline),
  };
}

/**
 * The skips of the last round, plus the settling files of earlier rounds that the last
 * round did not look at again (issue 9: without them the agent forgot a settling file
 * whenever a pass took a second round).
 */
function pendingSkips(reports: readonly ExecutionReport[]): readonly SkippedOp[] {
  const last = reports[reports.length - 1]?.skipped ?? [];
  const seen = new Set(last.map((s) => s.path));
  const earlier: SkippedOp[] = [];
  for (const report of reports.slice(0, -1)) {
    for (const skip of report.skipped) {
      if (skip.reason !== 'settling' || seen.has(skip.path)) continue;
      seen.add(skip.path);
      earlier.push(skip);
    }
  }
  return [...earlier, ...last];
}
