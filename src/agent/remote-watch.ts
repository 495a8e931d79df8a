/**
 * Remote changes: a WATCH connection whose notices trigger a remote pass. When the
 * connection fails (server restart, network loss) it reconnects with backoff, and polls
 * meanwhile, so a change on the server is seen within `pollMs` even without WATCH.
 */
import { backoffMs, sleep } from '../client/index.js';
import type { Clock, ClientPool, Notice } from '../client/index.js';
import type { Logger } from '../log/logger.js';

/** Options of `watchRemote`. */
export interface RemoteWatchOptions {
  readonly pool: ClientPool;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly since: () => number;
  readonly onNotice: (notice: Notice | null) => void;
  /** Told when the watch connection comes up (true) or fails (false). */
  readonly onReachable: (reachable: boolean, error: Error | null) => void;
  /** Poll interval while WATCH is down. Default 5000. */
  readonly pollMs?: number;
  readonly signal: AbortSignal;
}

/** Runs until `signal` fires. Never rejects. */
export async function watchRemote(options: RemoteWatchOptions): Promise<void> {
  const { clock, logger, signal } = options;
  const pollMs = options.pollMs ?? 5000;
  let failures = 0;
  while (!signal.aborted) {
    try {
      // The pool's client only lends its settings: WATCH opens a connection of its own.
      const client = await options.pool.acquire(signal);
      options.pool.release(client);
      options.onReachable(true, null);
      // Anything missed while WATCH was down is in the feed: look once now.
      options.onNotice(null);
      failures = 0;
      await client.watch(options.since(), (notice) => options.onNotice(notice), signal);
    } catch (err) {
      if (signal.aborted) return;
      failures += 1;
      const error = err instanceof Error ? err : new Error(String(err));
      options.onReachable(false, error);
      logger.warn({ err: error, attempt: failures }, 'server watch lost; reconnecting');
    }
    // Wait before reconnecting, polling the feed in the meantime.
    const waitMs = backoffMs(failures, Math.random(), { baseMs: 250, maxMs: 30_000 });
    const until = clock.now() + waitMs;
    try {
      while (clock.now() < until && !signal.aborted) {
        await sleep(clock, Math.min(pollMs, Math.max(0, until - clock.now())), signal);
        if (failures > 0) options.onNotice(null);
      }
    } catch {
      // Aborted while waiting: the loop condition ends the watch.
    }
  }
}
