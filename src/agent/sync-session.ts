/**
 * The composition root of syncing: a connection pool logged in with the device token,
 * and the state of every folder pair, for `fos sync` (one pass each) and `fos agent`.
 */
import { ClientPool, sleep, systemClock } from '../client/index.js';
import type { Clock, FosClient, RetryOptions } from '../client/index.js';
import { DEFAULT_TRASH_RETENTION_DAYS } from '../sync/trash.js';
import { EXIT } from '../errors.js';
import type { ExitCode } from '../errors.js';
import { agentConnect } from '../cli/sync-settings.js';
import type { SyncSettings } from '../cli/sync-settings.js';
import type { PassLimits, PassReport } from '../sync/engine-types.js';
import { closeFolderPair, openFolderPair } from '../sync/folder-pair.js';
import type { FolderPair } from '../sync/folder-pair.js';
import { mergePasses, runPass } from '../sync/pass.js';
import { catchUp } from '../sync/round.js';
import { remainingLimits } from '../sync/plan-totals.js';
import type { PassOptions } from '../sync/pass.js';

/** Longest a one-shot sync waits for files that are still being written. */
const SETTLE_WAIT_LIMIT_MS = 15_000;

/** An open session. `close()` is idempotent. */
export interface SyncSession {
  readonly settings: SyncSettings;
  readonly pool: ClientPool;
  readonly pairs: readonly FolderPair[];
  readonly clock: Clock;
  /** Runs `fn` on a pooled client with the session's retries. */
  run<T>(fn: (client: FosClient) => Promise<T>, signal: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

/** Options of `openSyncSession`. */
export interface SessionOptions {
  readonly token: string;
  readonly clock?: Clock;
  /** Transient-failure retries per operation (default 3). */
  readonly retries?: number;
  readonly onRetry?: RetryOptions['onRetry'];
  readonly onManifestError?: (err: Error) => void;
}

/**
 * Opens the pool (connections are made on first use) and every folder pair's state.
 * @throws FosError when a state folder or manifest cannot be opened.
 */
export async function openSyncSession(settings: SyncSettings, options: SessionOptions): Promise<SyncSession> {
  const clock = options.clock ?? systemClock;
  const connect = await agentConnect(settings);
  const pool = new ClientPool({
    address: settings.endpoint,
    credentials: { kind: 'token', token: options.token },
    size: settings.concurrency + 1,
    clock,
    clientName: `fos-agent ${settings.device}`,
    ...(connect === undefined ? {} : { connect }),
  });
  const pairs: FolderPair[] = [];
  try {
    for (const folder of settings.folders) {
      pairs.push(
        await openFolderPair({
          id: folder.id,
          local: folder.local,
          remote: folder.remote,
          ...(folder.caseInsensitive === undefined ? {} : { caseInsensitive: folder.caseInsensitive }),
          stateDir: settings.stateDir,
          device: settings.device,
          ignore: settings.ignore,
          settleMs: settings.settleMs,
          compress: settings.compress,
          ...(options.onManifestError === undefined ? {} : { onManifestError: options.onManifestError }),
        }),
      );
    }
  } catch (err) {
    await Promise.all(pairs.map(closeFolderPair));
    await pool.close();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    settings,
    pool,
    pairs,
    clock,
    run: (fn, signal) =>
      pool.run(fn, {
        retries: options.retries ?? 3,
        signal,
        clock,
        ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
      }),
    close() {
      closing ??= (async () => {
        for (const pair of pairs) await closeFolderPair(pair);
        await pool.close();
      })();
      return closing;
    },
  };
}

/** The pass options every pass of a session shares. */
export function passOptions(session: SyncSession, signal: AbortSignal): PassOptions {
  return {
    run: (fn) => session.run(fn, signal),
    clock: session.clock,
    signal,
    concurrency: session.settings.concurrency,
    reconcile: reconcileSettings(session.settings),
  };
}

/** The reconcile options the agent's settings give every pair. */
export function reconcileSettings(
  settings: SyncSettings,
): { maxDeleteShare: number; minGuardDeletions: number; maxDeleteFiles: number; maxDeleteBytes: number; maxConflictCopies: number } {
  return {
    maxDeleteShare: settings.maxDeleteShare,
    minGuardDeletions: settings.minGuardDeletions,
    maxDeleteFiles: settings.maxDeleteFiles,
    maxDeleteBytes: settings.maxDeleteBytes,
    maxConflictCopies: settings.maxConflictCopies,
  };
}

/** Options of `syncOnce`. */
export interface SyncOnceOptions {
  readonly signal: AbortSignal;
  readonly dryRun: boolean;
  readonly force: boolean;
  /** `--max-ops`, `--max-bytes`: a plan that goes over one changes nothing. */
  readonly limits?: PassLimits;
}

/**
 * One pass over a pair as `fos sync` runs it: files still being written are waited for
 * (up to 15 s), then synced in a further pass; the report covers both. A dry run waits
 * the same way and reports the plan made once they settled, so that it lists what the
 * real `fos sync` would carry out.
 * @throws FosError as `runPass` does.
 */
export async function syncOnce(session: SyncSession, pair: FolderPair, options: SyncOnceOptions): Promise<PassReport> {
  const started = session.clock.now();
  const base = passOptions(session, options.signal);
  let merged: PassReport | null = null;
  for (;;) {
    const limits = options.limits === undefined || merged === null ? options.limits : remainingLimits(options.limits, merged.execution);
    const report = await runPass(pair, {
      ...base,
      ...pairReconcile(base, pair),
      dryRun: options.dryRun,
      force: options.force,
      ...(limits === undefined ? {} : { limits }),
    });
    // A dry run's later pass plans everything again; a real one only what was left.
    merged = merged === null || options.dryRun ? report : mergePasses(merged, report);
    const settling = report.execution.skipped.some((s) => s.reason === 'settling');
    const now = session.clock.now();
    if (!settling || report.limit !== null || report.retryAt === null || report.retryAt - started > SETTLE_WAIT_LIMIT_MS) break;
    await sleep(session.clock, Math.max(0, report.retryAt - now) + 10, options.signal);
  }
  if (!options.dryRun && merged.limit === null) {
    if (merged.execution.executed.some((op) => CHANGES_SERVER.has(op.kind))) await catchUpOwnChanges(pair, base);
    await pair.trash.prune(started, DEFAULT_TRASH_RETENTION_DAYS);
  }
  return merged;
}

/** Operations that commit on the server: each moves the server's revision past the view's cursor. */
const CHANGES_SERVER: ReadonlySet<string> = new Set(['upload', 'deleteRemote', 'mkdirRemote', 'moveRemote', 'conflict']);

/**
 * Reads the change feed once more after a pass that changed the server, and saves the
 * view: the pass's own commits are past the view's cursor, so without this the next
 * `fos sync`, a no-op, would download them all again (issue 8, W4). A change another
 * device made meanwhile lands in the view too; the next pass looks at the whole folder
 * (fos sync has no scope), so it plans it just the same.
 */
async function catchUpOwnChanges(pair: FolderPair, options: PassOptions): Promise<void> {
  await catchUp(pair, options.run, options.signal);
  await pair.view.save();
  pair.manifest.cursor = pair.view.cursor;
  await pair.manifest.flush();
}

/** The pass options with the pair's own case rule. */
export function pairReconcile(base: PassOptions, pair: FolderPair): Pick<PassOptions, 'reconcile'> {
  return { reconcile: { ...base.reconcile, caseInsensitive: pair.caseInsensitive } };
}

/**
 * The exit code of a set of pass reports: 7 for a guard, a limit or deletions held for a
 * person, 5 for conflicts, 6 offline, 1 failures.
 */
export function exitCodeOf(reports: readonly PassReport[]): ExitCode {
  if (reports.some((r) => r.guard?.blocked === true || r.limit !== null || r.held.length > 0)) return EXIT.guard;
  if (reports.some((r) => r.execution.conflicts.length > 0)) return EXIT.conflict;
  if (reports.some((r) => r.execution.offline)) return EXIT.connection;
  if (reports.some((r) => r.execution.failed.length > 0)) return EXIT.other;
  return EXIT.ok;
}
