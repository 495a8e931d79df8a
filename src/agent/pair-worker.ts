/**
 * One folder pair inside the agent: collects what changed (local paths from the watcher,
 * "something changed on the server" from WATCH, "look at everything" from the rescan
 * timer), debounces it, and runs one pass at a time, scoped to the changed paths when it
 * can. A pass that fails to reach the server puts its work back and is retried with
 * backoff; a pass that leaves files settling or paths backing off comes back at their time.
 */
import { stat } from 'node:fs/promises';
import { backoffMs } from '../client/index.js';
import type { Clock } from '../client/index.js';
import type { Logger } from '../log/logger.js';
import { asFosError } from '../errors.js';
import type { ConflictCopy, PassReport, TransferState } from '../sync/engine-types.js';
import type { FolderPair } from '../sync/folder-pair.js';
import { knownHeld } from '../sync/held-deletions.js';
import { runPass } from '../sync/pass.js';
import type { PassOptions } from '../sync/pass.js';
import { isAtOrUnder } from '../sync/path-tree.js';
import { minimalScope } from '../sync/scope.js';
import type { Problem } from '../sync/types.js';
import type { PairStatus } from './status-types.js';

/** Longest a burst of events may hold a pass back. */
const MAX_DEBOUNCE_WAIT_MS = 1000;
/**
 * How often the agent looks at each folder's identity: a folder unmounted, replaced, or
 * moved back gives no watcher event or server notice (issue 9).
 */
export const ROOT_RECHECK_MS = 2000;
const ROOT_GUARDS: ReadonlySet<string> = new Set(['rootMissing', 'rootReplaced']);
const MAX_CONFLICTS_SHOWN = 50;

/** What a worker needs from the agent. */
export interface WorkerOptions {
  readonly pair: FolderPair;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly debounceMs: number;
  /** Pass options shared by every pass (run, signal, concurrency, ...). */
  readonly passOptions: () => PassOptions;
  /** Told after every pass, and when the server was (un)reachable. */
  readonly onPass: (report: PassReport | null, error: Error | null) => void;
  /** Told when the folder is back after it was missing or not itself: watch it anew. */
  readonly onRootBack?: () => void;
}

/** A folder pair's scheduler. `close()` waits for the pass in hand. */
export class PairWorker {
  readonly pair: FolderPair;
  readonly #options: WorkerOptions;
  #scope = new Set<string>();
  #full = true;
  #remote = false;
  #timer: (() => void) | null = null;
  #laterTimer: (() => void) | null = null;
  #notBefore = 0;
  readonly #later = new Set<string>();
  #firstEventAt: number | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  #failures = 0;
  #lastReport: PassReport | null = null;
  readonly #conflicts: ConflictCopy[] = [];
  /** Problems still standing: a pass over some paths only replaces those within its scope. */
  #problems: readonly Problem[] = [];
  readonly #transfers = new Map<string, TransferState>();
  #queue = 0;

  constructor(options: WorkerOptions) {
    this.pair = options.pair;
    this.#options = options;
  }

  /** A local path changed (watcher). */
  touchLocal(path: string): void {
    if (path.startsWith('..')) return;
    this.#scope.add(path);
    this.#schedule(this.#options.debounceMs);
  }

  /** Something changed on the server (WATCH notice or a poll). */
  touchRemote(): void {
    this.#remote = true;
    this.#schedule(Math.min(20, this.#options.debounceMs));
  }

  /** Look at the whole folder (start, rescan timer, watcher trouble, `.fosignore`). */
  touchAll(delayMs = 0): void {
    this.#full = true;
    this.#schedule(delayMs);
  }

  /**
   * Looks at the folder's identity (one stat): while it is missing or not itself, and when
   * it no longer looks like the folder recorded, a full pass decides what it is now.
   */
  async checkRoot(): Promise<void> {
    if (this.#closed) return;
    const guard = this.#lastReport?.guard?.kind;
    if (guard !== undefined && ROOT_GUARDS.has(guard)) {
      this.touchAll();
      return;
    }
    const recorded = this.pair.manifest.root;
    if (recorded === null) return;
    const stats = await stat(this.pair.local).catch(() => null);
    if (stats === null || stats.dev !== recorded.dev || stats.ino !== recorded.ino) this.touchAll();
  }

  /** Resolves when no pass runs and none is due now (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  /** The pair's state for `fos status` (the runtime adds the watcher's). */
  status(): Omit<PairStatus, 'watch'> {
    const report = this.#lastReport;
    return {
      local: this.pair.local,
      remote: this.pair.remote,
      lastSyncAt: report?.finishedAt ?? null,
      inSync: report?.inSync === true && this.#scope.size === 0 && !this.#full && !this.#remote,
      syncing: this.#running !== null,
      queue: this.#queue + this.#scope.size,
      transfers: [...this.#transfers.values()],
      conflicts: [...this.#conflicts],
      errors: this.pair.errors.list(),
      pending: report?.execution.skipped ?? [],
      guard: report?.guard ?? null,
      held: report?.held ?? knownHeld(this.pair),
      problems: this.#problems,
      cursor: this.pair.view.cursor,
    };
  }

  /** Stops scheduling and waits for the pass in hand. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.();
    this.#timer = null;
    this.#laterTimer?.();
    this.#laterTimer = null;
    await this.idle();
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    const now = this.#options.clock.now();
    this.#firstEventAt ??= now;
    // Trailing debounce, but never later than MAX_DEBOUNCE_WAIT_MS after the first event.
    // While the server is out of reach, nothing runs before the backoff says so.
    const at = Math.max(this.#notBefore, Math.min(now + delayMs, this.#firstEventAt + MAX_DEBOUNCE_WAIT_MS));
    this.#timer?.();
    this.#timer = this.#options.clock.setTimer(() => {
      this.#timer = null;
      this.#kick();
    }, Math.max(0, at - now));
  }

  #kick(): void {
    if (this.#closed || this.#running !== null) return;
    if (!this.#full && !this.#remote && this.#scope.size === 0) return;
    this.#firstEventAt = null;
    this.#running = this.#pass().finally(() => {
      this.#running = null;
      if (!this.#closed && (this.#full || this.#remote || this.#scope.size > 0)) this.#schedule(0);
    });
  }

  async #pass(): Promise<void> {
    const full = this.#full;
    const scope = full ? undefined : minimalScope(this.#scope);
    const hadRemote = this.#remote;
    this.#full = false;
    this.#remote = false;
    this.#scope = new Set();
    const base = this.#options.passOptions();
    const log = this.#options.logger;
    try {
      const report = await runPass(this.pair, {
        ...base,
        ...(scope === undefined ? {} : { scope }),
        save: false,
        onQueue: (waiting) => {
          this.#queue = waiting;
        },
        onTransfer: (path, direction, bytes, total) => {
          if (bytes === null) this.#transfers.delete(path);
          else this.#transfers.set(path, { path, direction, bytes, total, startedAt: this.#transfers.get(path)?.startedAt ?? this.#options.clock.now() });
        },
        onHistoryReset: (serverRev, cursor) => {
          log.warn({ serverRev, cursor }, "the server's history went back (database restored or damaged in a crash); rereading its whole change feed and rescanning");
        },
        onOutcome: (op, outcome) => {
          if (outcome.kind === 'failed') log.warn({ op: op.kind, path: outcome.error.path, code: outcome.error.code, nextRetryAt: outcome.error.nextRetryAt }, 'operation failed');
          else if (outcome.kind === 'done' && op.kind !== 'updateBase' && op.kind !== 'dropBase') log.info({ op: op.kind, path: 'path' in op ? op.path : op.from }, 'synced');
        },
      });
      if (!report.execution.offline) {
        this.#failures = 0;
        this.#notBefore = 0;
      }
      const previousGuard = this.#lastReport?.guard ?? null;
      const previousHeld = this.#lastReport?.held ?? [];
      this.#lastReport = report;
      const looked = (path: string): boolean => report.scope.some((s) => s === '' || isAtOrUnder(path, s) || isAtOrUnder(path.normalize('NFC'), s));
      const pathsOf = (p: Problem): readonly string[] => ('paths' in p ? [p.path, ...p.paths] : [p.path]);
      this.#problems = [...this.#problems.filter((p) => !pathsOf(p).some(looked)), ...report.problems];
      this.#conflicts.push(...report.execution.conflicts);
      this.#conflicts.splice(0, Math.max(0, this.#conflicts.length - MAX_CONFLICTS_SHOWN));
      // Once per guard, not once per recheck of a folder that stays gone.
      if (report.guard !== null && report.guard.kind !== previousGuard?.kind) {
        log.error({ guard: report.guard.kind, deletions: report.guard.deletions, total: report.guard.total }, report.guard.message);
      }
      this.#watchRoot(previousGuard?.kind ?? null, report.guard?.kind ?? null);
      // Once per batch, too: a pass while a batch waits holds the same set again.
      for (const h of report.held) {
        if (previousHeld.some((p) => p.side === h.side && p.batchId === h.batchId)) continue;
        log.warn({ side: h.side, batch: h.batchId, count: h.count, err: h.error ?? undefined }, 'deletions held for a decision');
      }
      for (const c of report.execution.conflicts) log.warn({ path: c.path, copy: c.copyPath }, 'conflict: both versions kept');
      if (report.execution.offline) this.#retryLater(hadRemote);
      else if (report.retryAt !== null) this.#retryAt(report.retryAt, report);
      this.#options.onPass(report, null);
    } catch (err) {
      const error = asFosError(err);
      if (base.signal.aborted) return;
      log.warn({ err: error, code: error.code }, 'sync pass failed');
      this.#retryLater(hadRemote);
      this.#options.onPass(null, error);
    } finally {
      this.#queue = 0;
      this.#transfers.clear();
    }
  }

  /**
   * Puts the pass's work back and tries again after a backoff. The retry looks at the
   * whole folder: the failed pass may have moved the change-feed cursor past changes it
   * read but never carried out, which its own scope does not name (issue 9).
   */
  #retryLater(remote: boolean): void {
    this.#full = true;
    if (remote) this.#remote = true;
    this.#failures += 1;
    this.#notBefore = this.#options.clock.now() + backoffMs(this.#failures, Math.random(), { baseMs: 500, maxMs: 30_000 });
  }

  /** A folder back after it was missing or not itself: the agent watches it anew. */
  #watchRoot(before: string | null, now: string | null): void {
    const wasGone = before !== null && ROOT_GUARDS.has(before);
    const isGone = now !== null && ROOT_GUARDS.has(now);
    if (wasGone && !isGone) {
      this.#options.logger.info({ local: this.pair.local }, 'folder is back; syncing again');
      this.#options.onRootBack?.();
    }
  }

  /** Paths settling or backing off: look at them again when they are due. */
  #retryAt(at: number, report: PassReport): void {
    for (const s of report.execution.skipped) this.#later.add(s.path);
    for (const e of this.pair.errors.list()) this.#later.add(e.path);
    const delay = Math.max(0, at - this.#options.clock.now()) + 5;
    this.#laterTimer?.();
    this.#laterTimer = this.#options.clock.setTimer(() => {
      this.#laterTimer = null;
      for (const path of this.#later) this.#scope.add(path);
      this.#later.clear();
      this.#schedule(0);
    }, delay);
  }
}
