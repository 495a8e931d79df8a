/**
 * One sync pass over a folder pair: check the root's identity, catch up with the server's
 * change feed, scan (the whole folder, or only a scope), reconcile, apply the guard, run
 * the plan, and save the manifest and the remote view. A path the server refused or that
 * changed under the executor is planned again in a further round, so a lost update turns
 * into a conflict copy within the same pass.
 */
import type { Clock, FosClient } from '../client/index.js';
import type { ExecutionReport, GuardReport, HeldReport, LimitStop, PassLimits, PassReport, PlannedOp, SkippedOp } from './engine-types.js';
import { executePlan } from './executor.js';
import type { ExecutorOptions } from './executor.js';
import type { FolderPair } from './folder-pair.js';
import { exemptionOf, fetchApprovals, knownHeld, pendingIn, recordHeld, reviewHeld } from './held-deletions.js';
import type { Approvals } from './held-deletions.js';
import { countOps, opPath } from './order.js';
import { isAtOrUnder } from './path-tree.js';
import { addTotals, describeOp, overLimit, planTotals } from './plan-totals.js';
import { reconcile, RECONCILE_DEFAULTS } from './reconcile.js';
import { adoptRoot, checkRoot } from './root-identity.js';
import type { RootCheck } from './root-identity.js';
import { catchUp, planRound, splitSettling } from './round.js';
import { minimalScope } from './scope.js';
import type { BaseState, DeletionOp, Op, Plan, Problem, ReconcileOptions } from './types.js';

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
  /**
   * A plan (every operation, files still being written included) that goes over one of
   * these stops the pass before it changes anything, as a dry run would (`fos sync
   * --max-ops`, `--max-bytes`). Later rounds, which retry refusals, are not checked.
   */
  readonly limits?: PassLimits;
  /** Carry out deletions despite a tripped guard, and adopt a replaced root. */
  readonly force?: boolean;
  /**
   * Only these sync paths (and below, and above) plus whatever the change feed touched;
   * absent: the whole folder. A tripped guard widens a scoped pass to the whole folder.
   */
  readonly scope?: readonly string[];
  readonly concurrency?: number;
  readonly reconcile?: Pick<
    ReconcileOptions,
    'maxDeleteShare' | 'minGuardDeletions' | 'maxDeleteFiles' | 'maxDeleteBytes' | 'caseInsensitive' | 'maxConflictCopies'
  >;
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
  executed: [],
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
    const limit = parts.limit ?? null;
    const held = parts.held ?? knownHeld(pair);
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
      totals: parts.totals ?? planTotals([]),
      execution,
      guard,
      limit,
      held,
      problems,
      scope: parts.scope ?? [],
      cursor: pair.view.cursor,
      inSync:
        guard === null &&
        limit === null &&
        held.length === 0 &&
        problems.length === 0 &&
        execution.failed.length === 0 &&
        execution.skipped.length === 0 &&
        !execution.offline &&
        retryAt === null,
      retryAt,
    };
  };

  // An idle agent keeps the remote view on disk only (issue 8, M1).
  await pair.view.ensureLoaded();
  const root = await checkRoot(pair.local, pair.manifest.root, { force });
  if (root.state !== 'present') return finish({ execution: EMPTY_EXECUTION, guard: rootGuardReport(root, pair.manifest.records), scope: [''] });
  // The root's identity is recorded (and its id file written) only once the pass is about
  // to change something: a plan, or a pass stopped by a limit, leaves no trace.
  let rootAdopted = !root.changed;

  const planned: PlannedOp[] = [];
  let totals = planTotals([]);
  const executions: ExecutionReport[] = [];
  let guardPlan: Plan | null = null;
  let limit: LimitStop | null = null;
  // Problems of every round: a later round looks at fewer paths and would drop the others.
  const problems = new Map<string, Problem>();
  let looked: readonly string[] | null = null;
  // What the last whole-folder plan held back; null when this pass planned only a part.
  let heldBack: readonly DeletionOp[] | null = null;
  let approvals: Approvals | null = null;
  // While a held batch waits, every pass looks at the whole folder: a decision on it may
  // commit nothing (an approved local deletion, a rejected remote one), and only a
  // whole-folder plan can tell that a held set changed or is gone.
  let scope: string[] = options.scope === undefined || pair.manifest.held.length > 0 ? [''] : [...options.scope];
  if (!dryRun) await reviewHeld(pair, options.run, options.signal);
  let settleAt: number | null = null;
  const maxRounds = Math.max(1, options.maxRounds ?? 3);

  for (let round = 0; round < maxRounds; round += 1) {
    const caught = await catchUp(pair, options.run, options.signal, options.onHistoryReset);
    if (caught.reset) scope = [''];
    if (!scope.includes('')) scope = minimalScope([...scope, ...caught.touched]);
    if (scope.length === 0) break;

    const now = clock.now();
    const exempt = approvals === null ? {} : { isExempt: exemptionOf(pair, approvals) };
    const planning = await planRound(pair, scope, { now, reconcile: reconcileOptions, signal: options.signal, isPending: pendingIn(pair.manifest.held), ...exempt });
    const held = planning.skipped.map((s) => s.path);
    for (const skip of planning.skipped) pair.errors.record(skip.path, 'upload', new Error(skip.why), now);
    let plan = planning.plan;
    if (plan.guard !== null && !scope.includes('')) {
      // A guard on a part of the folder may be an artefact of the part: decide on the whole.
      scope = [''];
      round -= 1;
      continue;
    }
    if (approvals === null && plan.guard?.kind === 'massDelete' && plan.held.some((op) => op.kind === 'deleteLocal')) {
      // Only now is it worth asking which of these deletions a person already approved
      // (issue 11): approved ones are exempt from the guard, and the rest may then pass.
      approvals = await fetchApprovals(pair, options.run, options.signal);
      plan = reconcile({ ...planning.input, isExempt: exemptionOf(pair, approvals) });
    }
    looked ??= scope;
    for (const problem of plan.problems) problems.set(JSON.stringify(problem), problem);
    // A root guard says nothing about the held sets (the folder itself is suspect): the
    // batches stay as they are.
    const isRootGuard = plan.guard !== null && plan.guard.kind !== 'massDelete';
    if (scope.includes('') && !isRootGuard) heldBack = plan.held;
    if (plan.guard !== null) guardPlan = plan;

    if (round === 0 && options.limits !== undefined) {
      // Files still being written count: `fos sync` waits for them and runs them too.
      limit = overLimit(planTotals(plan.ops), options.limits);
      if (limit !== null) {
        planned.push(...plan.ops.map(describeOp));
        totals = planTotals(plan.ops);
        break;
      }
    }
    const split = splitSettling(plan.ops, pair.settle, now);
    settleAt = earliest(settleAt, split.settleAt);
    planned.push(...split.ready.map(describeOp));
    totals = addTotals(totals, planTotals(split.ready));
    if (dryRun) {
      executions.push({ ...EMPTY_EXECUTION, skipped: split.settling });
      break;
    }
    if (!rootAdopted) {
      pair.manifest.root = await adoptRoot(pair.local, root);
      rootAdopted = true;
    }
    plan = { ...plan, ops: split.ready };
    const execution = await executePlan(plan.ops, opContext(pair, options), {
      concurrency: options.concurrency ?? 4,
      errors: pair.errors,
      ...(options.stop === undefined ? {} : { stop: options.stop }),
      ...(options.onQueue === undefined ? {} : { onQueue: options.onQueue }),
      ...(options.onOutcome === undefined ? {} : { onOutcome: options.onOutcome }),
    });
    executions.push({ ...execution, skipped: [...execution.skipped, ...split.settling] });
    clearSettled(pair, scope, plan, held);
    if (execution.offline || options.stop?.aborted === true) break;
    const again = execution.skipped.filter((s) => ROUND_AGAIN.has(s.reason)).map((s) => s.path);
    const copies = execution.conflicts.map((c) => c.copyPath);
    if (again.length === 0) break;
    scope = minimalScope([...again, ...copies]);
  }

  // A pass a limit stopped changes nothing, on the server neither.
  const held =
    heldBack === null || limit !== null ? knownHeld(pair) : await recordHeld(pair, heldBack, { run: options.run, signal: options.signal, dryRun });
  if (!dryRun && limit === null) {
    // A tombstone only matters while the manifest still has the path to delete.
    pair.view.pruneTombstones((path) => pair.manifest.records.has(path));
  }
  if (!dryRun && limit === null && options.save !== false) {
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
    guard: guardPlan === null ? null : guardReport(guardPlan, pair, reconcileOptions, held),
    limit,
    held,
    problems: [...problems.values()],
    scope: looked ?? [],
    planned,
    totals,
    retryAt: settleAt,
  });
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** The guard of a root that is missing or is not the folder synced before: nothing happens anywhere. */
export function rootGuardReport(root: Exclude<RootCheck, { state: 'present' }>, records: ReadonlyMap<string, BaseState>): GuardReport {
  let total = 0;
  for (const state of records.values()) if (state.kind === 'file') total++;
  const kind = root.state === 'missing' ? 'rootMissing' : 'rootReplaced';
  return { kind, deletions: 0, total, bytes: 0, blocked: true, message: `${root.message}; nothing was synced or deleted` };
}

/**
 * A tripped guard as a report says it: the facts and a sentence on what to do. `held`
 * names the batches a mass delete's deletions are held as, when the pass recorded them.
 */
export function guardReport(plan: Plan, pair: Pick<FolderPair, 'local'>, options: ReconcileOptions, held: readonly HeldReport[] = []): GuardReport {
  const guard = plan.guard;
  if (guard === null) throw new TypeError('no guard');
  const batches = held.filter((h) => h.batchId !== null).map((h) => h.batchId);
  const where =
    batches.length > 0
      ? `they are held as ${batches.length === 1 ? 'batch' : 'batches'} ${batches.join(' and ')} for \`fos deletions approve\` or \`reject\``
      : 'check the folder, then run `fos sync --force` to go ahead';
  const what = guard.blocked ? `nothing was deleted anywhere; ${where}` : 'forced: the deletions went ahead';
  const message =
    guard.kind === 'massDelete'
      ? `the pass would delete ${guard.deletions} of ${guard.total} files in ${pair.local} (more than ${limitsText(guard, options)}); ${what}`
      : guard.kind === 'rootEmpty'
        ? `folder is empty: ${pair.local} has no files where it had ${guard.total}; ${what}`
        : `folder identity changed or folder missing: ${pair.local}; ${what}`;
  return { kind: guard.kind, deletions: guard.deletions, total: guard.total, bytes: guard.bytes, blocked: guard.blocked, message };
}

/** Which of the mass-delete limits a guard went past, in words. */
function limitsText(guard: NonNullable<Plan['guard']>, options: ReconcileOptions): string {
  const share = options.maxDeleteShare ?? RECONCILE_DEFAULTS.maxDeleteShare;
  const files = options.maxDeleteFiles ?? RECONCILE_DEFAULTS.maxDeleteFiles;
  const bytes = options.maxDeleteBytes ?? RECONCILE_DEFAULTS.maxDeleteBytes;
  const over: string[] = [];
  if (guard.deletions > share * guard.total) over.push(`${Math.round(share * 100)} %`);
  if (guard.deletions > files) over.push(`${files} files`);
  if (guard.bytes > bytes) over.push(`${(bytes / 1024 ** 3).toFixed(1)} GiB`);
  return over.length === 0 ? 'the limits' : over.join(' and ');
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
    compress: pair.compress,
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

/**
 * Two passes of one `fos sync` over a pair as one report: what both planned and carried
 * out, and where the later one left things (its skips, guard, problems, cursor).
 */
export function mergePasses(first: PassReport, later: PassReport): PassReport {
  return {
    ...later,
    startedAt: first.startedAt,
    planned: [...first.planned, ...later.planned],
    totals: addTotals(first.totals, later.totals),
    execution: { ...mergeExecutions([first.execution, later.execution]), skipped: later.execution.skipped },
  };
}

/** The executions of several rounds (or passes) as one. */
export function mergeExecutions(reports: readonly ExecutionReport[]): ExecutionReport {
  const done = { ...countOps([]) } as Record<Op['kind'], number>;
  for (const r of reports) for (const kind of Object.keys(r.done) as Op['kind'][]) done[kind] += r.done[kind];
  return {
    done,
    executed: reports.flatMap((r) => r.executed),
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
