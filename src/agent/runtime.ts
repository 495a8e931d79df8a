/**
 * The agent runtime behind `fos agent`: one worker per folder pair fed by a chokidar
 * watcher (within the watch budget: folders it cannot watch are rescanned more often), a
 * WATCH connection (polling as the fallback) and a periodic full rescan; a
 * status socket and a status file; batched saves of manifests and remote views. `stop()`
 * lets the transfers in hand finish, saves everything and closes (SIGTERM).
 */
import type { Clock } from '../client/index.js';
import type { Logger } from '../log/logger.js';
import type { AgentMetrics } from '../metrics/agent-metrics.js';
import type { PassReport } from '../sync/engine-types.js';
import { reloadIgnore } from '../sync/folder-pair.js';
import type { FolderPair } from '../sync/folder-pair.js';
import { pairReconcile, passOptions } from './sync-session.js';
import type { SyncSession } from './sync-session.js';
import { FolderWatches } from './folder-watches.js';
import { IdleMemory } from './idle-memory.js';
import { PairWorker, ROOT_RECHECK_MS } from './pair-worker.js';
import { watchRemote } from './remote-watch.js';
import { writeStatusFile, socketPath } from './status-file.js';
import { listenStatusSocket } from './status-socket.js';
import type { StatusSocket } from './status-socket.js';
import type { AgentStatus } from './status-types.js';

/** How often manifests, remote views and the status file are saved while work goes on. */
const SAVE_INTERVAL_MS = 1000;
/**
 * Longest time between two rescans of the folders a degraded watcher does not cover. Only
 * the unwatched part is rescanned this often (the full rescan keeps its own interval): a
 * folder too big to watch is usually too big to rescan whole every minute, while a change
 * in it should not wait the five minutes of the default full rescan.
 */
const DEGRADED_RESCAN_MAX_SEC = 60;

/** Options of `startAgent`. */
export interface AgentOptions {
  readonly session: SyncSession;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: AgentMetrics;
  /** Poll interval while WATCH is down. Default 5000. */
  readonly pollMs?: number;
}

/** A running agent. `stop()` is idempotent. */
export interface Agent {
  /** Resolves once watchers are ready and the first passes were started. */
  readonly ready: Promise<void>;
  status(): AgentStatus;
  /** Graceful stop: transfers in hand finish, state is saved. */
  stop(): Promise<void>;
}

/**
 * Starts the agent.
 * @throws FosError when another agent runs on the same state folder.
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const { session, clock, logger, metrics } = options;
  const { settings } = session;
  const hard = new AbortController();
  const graceful = new AbortController();
  const startedAt = clock.now();
  let serverReachable = false;
  let stopping: Promise<void> | null = null;
  let serverError: string | null = null;

  for (const pair of session.pairs) {
    const recovery = pair.manifest.recovery;
    // A corrupt manifest was moved aside and the pair starts from an empty base: say so,
    // since the first pass then rescans and re-records everything (issue 9).
    if (recovery !== null) {
      logger.warn({ pair: pair.id, err: recovery.error, movedTo: recovery.movedTo }, 'manifest was corrupt; moved aside, rescanning the folder (nothing is deleted)');
    }
  }
  // While idle, the saved remote views stay on disk only; a pass reads its view back first.
  const idleMemory = new IdleMemory(clock, () => {
    session.pairs.forEach((pair, i) => {
      if (workers[i]?.status().syncing !== true) pair.view.release();
    });
  });
  const onPass = (report: PassReport | null, error: Error | null): void => {
    if (report !== null) {
      serverReachable = !report.execution.offline;
      if (serverReachable) serverError = null;
      recordMetrics(metrics, report);
    } else if (error !== null) {
      serverReachable = false;
      serverError = error.message;
      metrics?.syncPasses.inc({ result: 'error' });
    }
    dirty = true;
    idleMemory.touch();
  };
  const workers = session.pairs.map(
    (pair) =>
      new PairWorker({
        pair,
        clock,
        logger: logger.child({ pair: pair.id }),
        debounceMs: settings.debounceMs,
        passOptions: () => {
          const base = passOptions(session, hard.signal);
          return { ...base, ...pairReconcile(base, pair), stop: graceful.signal };
        },
        onPass,
        onRootBack: () => rewatch(pair),
      }),
  );

  const degradedRescanSec = Math.min(settings.rescanIntervalSec, DEGRADED_RESCAN_MAX_SEC);
  const watches = new FolderWatches({
    pairs: session.pairs,
    handlers: (index) => {
      const worker = workers[index] as PairWorker;
      return {
        onPath: (path) => worker.touchLocal(path),
        onAll: () => worker.touchAll(settings.debounceMs),
        onIgnoreFile: () => {
          reloadIgnore(worker.pair)
            .then(() => worker.touchAll(settings.debounceMs))
            .catch((err: unknown) => logger.warn({ err }, 'cannot read .fosignore'));
        },
      };
    },
    logger,
    maxWatches: settings.maxWatches,
    degradedRescanSec,
  });

  const status = (): AgentStatus => ({
    running: true,
    pid: process.pid,
    device: settings.device,
    server: settings.server,
    serverReachable,
    serverError,
    startedAt,
    updatedAt: clock.now(),
    pairs: workers.map((w, index) => ({ ...w.status(), watch: watches.status(index) })),
  });
  const socket: StatusSocket = await listenStatusSocket(socketPath(settings.stateDir), status);

  // A folder moved back or remounted is another inode than the one watched: watch anew.
  const rewatch = (pair: FolderPair): void => {
    if (stopping === null) watches.rewatch(session.pairs.indexOf(pair));
  };

  const remote = watchRemote({
    pool: session.pool,
    clock,
    logger,
    since: () => Math.min(...session.pairs.map((p) => p.view.cursor)),
    onNotice: () => {
      for (const worker of workers) worker.touchRemote();
    },
    onReachable: (reachable, error) => {
      serverReachable = reachable;
      serverError = error === null ? null : error.message;
      dirty = true;
    },
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    signal: hard.signal,
  });

  let dirty = true;
  const save = async (): Promise<void> => {
    for (const pair of session.pairs) {
      await pair.view.save();
      pair.manifest.cursor = pair.view.cursor;
      await pair.manifest.flush();
    }
    await writeStatusFile(settings.stateDir, status());
    dirty = false;
    // Writing the state files makes garbage of their size: collect it once quiet again.
    idleMemory.touch();
  };
  const saveTimer = setInterval(() => {
    if (!dirty && !workers.some((w) => w.status().syncing)) return;
    save().catch((err: unknown) => logger.error({ err }, 'cannot save the sync state'));
  }, SAVE_INTERVAL_MS);
  // Each full rescan also counts the folders again and re-plans the watchers: a folder that
  // outgrew the budget is watched in part from then on, one that shrank in whole again.
  const rescanTimer = setInterval(() => {
    void watches.refresh().finally(() => {
      for (const worker of workers) worker.touchAll();
    });
  }, settings.rescanIntervalSec * 1000);
  const rootTimer = setInterval(() => {
    for (const worker of workers) worker.checkRoot().catch((err: unknown) => logger.warn({ err }, 'cannot check the folder'));
  }, ROOT_RECHECK_MS);
  const degradedTimer =
    degradedRescanSec < settings.rescanIntervalSec
      ? setInterval(() => {
          workers.forEach((worker, index) => {
            for (const path of watches.unwatched(index)) worker.touchLocal(path);
          });
        }, degradedRescanSec * 1000)
      : null;

  const ready = (async () => {
    await watches.refresh();
    for (const worker of workers) worker.touchAll();
    logger.info({ pairs: session.pairs.map((p) => ({ local: p.local, remote: p.remote })) }, 'agent started');
  })();

  return {
    ready,
    status,
    stop() {
      stopping ??= (async () => {
        logger.info('agent stopping');
        graceful.abort();
        clearInterval(rescanTimer);
        clearInterval(rootTimer);
        if (degradedTimer !== null) clearInterval(degradedTimer);
        clearInterval(saveTimer);
        idleMemory.close();
        await watches.close();
        await Promise.all(workers.map((w) => w.close()));
        hard.abort();
        await remote;
        await save().catch((err: unknown) => logger.error({ err }, 'cannot save the sync state'));
        await socket.close();
        await writeStatusFile(settings.stateDir, { ...status(), running: false }).catch(() => undefined);
        await session.close();
        logger.info('agent stopped');
      })();
      return stopping;
    },
  };
}

function recordMetrics(metrics: AgentMetrics | undefined, report: PassReport): void {
  if (metrics === undefined) return;
  const e = report.execution;
  metrics.filesUploaded.inc(e.done.upload);
  metrics.filesDownloaded.inc(e.done.download);
  metrics.bytesUploaded.inc(e.bytesUploaded);
  metrics.bytesDownloaded.inc(e.bytesDownloaded);
  metrics.deletions.inc({ side: 'local' }, e.done.deleteLocal);
  metrics.deletions.inc({ side: 'remote' }, e.done.deleteRemote);
  metrics.conflicts.inc(e.conflicts.length);
  for (const f of e.failed) metrics.errors.inc({ code: f.code });
  const result = report.guard?.blocked === true ? 'held' : e.offline || e.failed.length > 0 ? 'error' : 'ok';
  metrics.syncPasses.inc({ result });
  if (result === 'ok') metrics.lastSyncTimestamp.set(report.finishedAt / 1000);
}
