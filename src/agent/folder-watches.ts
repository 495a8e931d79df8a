/**
 * The local watchers of every pair under one watch budget (issue 11). At start and at each
 * rescan the agent counts the folders of each pair, reads the system's watch limit and
 * plans what fits (watch-plan.ts); a pair whose plan leaves folders out, or whose watcher
 * had a watch refused at run time, is `degraded`: it says so in `fos status`, logs it once,
 * and its unwatched part is rescanned at the degraded interval. A watcher whose plan
 * changed, or that had watches refused, is started again at the next rescan, so the agent
 * watches everything again once the folder shrinks or the limit is raised.
 */
import type { Logger } from '../log/logger.js';
import type { FolderPair } from '../sync/folder-pair.js';
import { minimalScope } from '../sync/scope.js';
import { takeCensus } from './folder-census.js';
import { watchLocal } from './local-watch.js';
import type { LocalWatch, LocalWatchHandlers } from './local-watch.js';
import type { WatchStatus } from './status-types.js';
import { readWatchLimit } from './watch-limit.js';
import { planWatches, watchBudget } from './watch-plan.js';
import type { PairWatchPlan } from './watch-plan.js';

/** Unwatched folders `fos status` lists per pair. */
const MAX_LISTED = 20;
/** Refused paths remembered one by one; past this, the whole folder is rescanned. */
const MAX_REFUSED_PATHS = 1000;

/** Options of `FolderWatches`. */
export interface FolderWatchesOptions {
  readonly pairs: readonly FolderPair[];
  /** The handlers of each pair's watcher, by the pair's index. */
  readonly handlers: (index: number) => LocalWatchHandlers;
  readonly logger: Logger;
  /** The budget from the config; null: the system's limit less a reserve. */
  readonly maxWatches: number | null;
  /** Seconds between rescans of the unwatched part (for `fos status`). */
  readonly degradedRescanSec: number;
  /** Reads the system's limit (tests inject one). */
  readonly readLimit?: () => Promise<number | null>;
}

interface PairWatch {
  readonly pair: FolderPair;
  watch: LocalWatch | null;
  plan: PairWatchPlan;
  /** The plan the running watcher was started with. */
  started: readonly string[] | null;
  readonly refused: Set<string>;
  refusedCount: number;
  degraded: boolean;
  /** Each cause is logged once, when it appears: the plan leaving folders out, refused watches. */
  saidOverBudget: boolean;
  saidRefused: boolean;
  /** Restarts of this pair's watcher run one after the other (a refresh and a rewatch may meet). */
  chain: Promise<void>;
}

/** The watchers of all pairs. `close()` is idempotent. */
export class FolderWatches {
  readonly #options: FolderWatchesOptions;
  readonly #pairs: PairWatch[];
  #limit: number | null = null;
  #budget: number | null = null;
  #refreshing: Promise<void> | null = null;
  #closed = false;

  constructor(options: FolderWatchesOptions) {
    this.#options = options;
    this.#pairs = options.pairs.map((pair) => ({
      pair,
      watch: null,
      plan: { complete: true, folders: 0, watchedFolders: 0, watchesNeeded: 0, watches: 0, unwatched: [] },
      started: null,
      refused: new Set(),
      refusedCount: 0,
      degraded: false,
      saidOverBudget: false,
      saidRefused: false,
      chain: Promise.resolve(),
    }));
  }

  /**
   * Counts, plans and (re)starts the watchers that need it; resolves once they are ready.
   * Concurrent calls share one run. Never throws: a count that fails keeps the last plan.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  /**
   * Starts the pair's watcher anew with its current plan: its folder is another inode now
   * (moved back, remounted), which the old watches do not see. Never throws.
   */
  rewatch(index: number): void {
    const state = this.#pairs[index];
    if (state === undefined || this.#closed) return;
    void this.#enqueue(state, index);
  }

  /** True when part of the pair's folder is seen by rescans only. */
  isDegraded(index: number): boolean {
    return this.#pairs[index]?.degraded === true;
  }

  /** The paths of a pair that rescans must cover while it is degraded (minimal scope). */
  unwatched(index: number): string[] {
    const state = this.#pairs[index];
    if (state === undefined || !state.degraded) return [];
    return minimalScope([...state.plan.unwatched, ...state.refused]);
  }

  /** The pair's watch state for `fos status`. */
  status(index: number): WatchStatus {
    const state = this.#pairs[index];
    const plan = state?.plan;
    const unwatched = this.unwatched(index);
    return {
      state: state?.degraded === true ? 'degraded' : 'full',
      reason: state?.degraded === true ? this.#reason(state) : null,
      folders: plan?.folders ?? 0,
      watchedFolders: plan?.watchedFolders ?? 0,
      watchesNeeded: plan?.watchesNeeded ?? 0,
      limit: this.#limit,
      budget: this.#budget,
      refused: state?.refusedCount ?? 0,
      unwatched: unwatched.slice(0, MAX_LISTED),
      rescanIntervalSec: this.#options.degradedRescanSec,
    };
  }

  /** Stops every watcher. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#refreshing?.catch(() => undefined);
    await Promise.all(this.#pairs.map((state) => state.chain));
    await Promise.all(this.#pairs.map((state) => state.watch?.close()));
  }

  async #refresh(): Promise<void> {
    if (this.#closed) return;
    const { logger } = this.#options;
    let plans: PairWatchPlan[];
    try {
      this.#limit = await (this.#options.readLimit ?? readWatchLimit)();
      this.#budget = watchBudget(this.#limit, this.#options.maxWatches);
      const census = [];
      for (const state of this.#pairs) census.push(await takeCensus(state.pair.local, state.pair.isIgnored));
      plans = planWatches(census, this.#budget);
    } catch (err) {
      logger.warn({ err }, 'cannot count the folders to watch; keeping the watchers as they are');
      return;
    }
    await Promise.all(
      this.#pairs.map(async (state, index) => {
        const plan = plans[index] as PairWatchPlan;
        state.plan = plan;
        const sameTargets = state.started !== null && sameList(state.started, plan.unwatched);
        if (this.#closed || (sameTargets && state.refused.size === 0)) {
          this.#settle(state);
          return;
        }
        await this.#enqueue(state, index);
      }),
    );
  }

  /** Restarts the pair's watcher after any restart already under way, then settles its state. */
  #enqueue(state: PairWatch, index: number): Promise<void> {
    state.chain = state.chain
      .then(() => this.#restart(state, index))
      .then(() => this.#settle(state))
      .catch((err: unknown) => this.#options.logger.warn({ err, pair: state.pair.id }, 'cannot start the watcher; rescans cover the folder'));
    return state.chain;
  }

  async #restart(state: PairWatch, index: number): Promise<void> {
    await state.watch?.close();
    state.watch = null;
    state.refused.clear();
    state.refusedCount = 0;
    state.started = state.plan.unwatched;
    if (this.#closed || state.plan.unwatched.includes('')) return;
    const handlers = this.#options.handlers(index);
    state.watch = watchLocal(
      state.pair,
      { ...handlers, onRefused: (path) => this.#onRefused(state, path) },
      this.#options.logger.child({ pair: state.pair.id }),
      { unwatched: new Set(state.plan.unwatched) },
    );
    await state.watch.ready;
  }

  #onRefused(state: PairWatch, path: string): void {
    state.refusedCount += 1;
    if (state.refused.size < MAX_REFUSED_PATHS) state.refused.add(path);
    else state.refused.add('');
    state.degraded = true;
    if (!state.saidRefused) {
      state.saidRefused = true;
      this.#options.logger.warn(
        { pair: state.pair.id, path, limit: this.#limit },
        'watcher degraded: the system refused a watch (its limit is reached); rescanning what is not watched',
      );
    }
  }

  /** Degraded or not, after a (re)plan; logs each cause once, when it appears, and the return to full. */
  #settle(state: PairWatch): void {
    const { plan } = state;
    const fields = { pair: state.pair.id, folders: plan.folders, watchedFolders: plan.watchedFolders, watchesNeeded: plan.watchesNeeded, limit: this.#limit, budget: this.#budget };
    if (!plan.complete && !state.saidOverBudget) {
      this.#options.logger.warn({ ...fields, reason: this.#reason(state) }, 'watcher degraded: not every folder can be watched; rescanning the rest');
    }
    state.saidOverBudget = !plan.complete;
    if (state.refused.size === 0) state.saidRefused = false;
    const degraded = !plan.complete || state.refused.size > 0;
    if (state.degraded && !degraded) this.#options.logger.info(fields, 'watcher covers every folder again');
    state.degraded = degraded;
  }

  #reason(state: PairWatch): string {
    const { plan } = state;
    const every = `rescanned every ${this.#options.degradedRescanSec} s`;
    const limit = this.#limit === null ? '' : `, system limit ${this.#limit}`;
    const parts: string[] = [];
    if (!plan.complete) {
      const source = this.#options.maxWatches !== null ? 'maxWatches' : `the limit less a reserve for other programs${limit}`;
      parts.push(
        `the folder needs ${plan.watchesNeeded} watches (one per folder) and the agent may use ${this.#budget ?? 0} (${source}): ` +
          `${plan.watchedFolders} of ${plan.folders} folders are watched, the rest is ${every}`,
      );
    }
    if (state.refused.size > 0) {
      parts.push(`the system refused ${state.refusedCount} watches (its per-user limit is reached${limit}): what they would cover is ${every}`);
    }
    return parts.join('; ');
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
