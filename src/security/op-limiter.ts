/**
 * Operations per user per second (the seed's "rate limiting"): every request after AUTH
 * takes one point; a user over the limit gets RATE_LIMITED with the wait, and the
 * connection stays usable. Counted with rate-limiter-flexible, in memory or Redis.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { FosError } from '../errors.js';
import { consume, createLimiter } from './rate-limiter.js';
import { systemSleep, type LimitBackend, type Sleep } from './types.js';

/** Options of {@link OpLimiter}. */
export interface OpLimitSettings {
  /** Operations a user may start per window. */
  readonly ops: number;
  /** The window in whole seconds; 1 when absent. */
  readonly perSeconds?: number;
  /** How {@link OpLimiter.wait} waits; the real timer when absent. */
  readonly sleep?: Sleep;
}

/** Limits how many operations each user starts per second. */
export class OpLimiter {
  readonly #limiter: RateLimiterAbstract;
  readonly #sleep: Sleep;

  /** @throws FosError `FOS_ERR_CONFIG_INVALID` when the limit is out of range. */
  constructor(backend: LimitBackend, settings: OpLimitSettings) {
    this.#limiter = createLimiter(backend, 'ops:', { points: settings.ops, durationSec: settings.perSeconds ?? 1 });
    this.#sleep = settings.sleep ?? systemSleep;
  }

  /**
   * Counts one operation of `user`, waiting for the next window when over the limit: for
   * protocols that cannot tell a client to come back later (the seed's).
   * @throws the signal's reason when `signal` aborts the wait; `FOS_ERR_PROTO_INTERNAL`
   * when the counter store fails.
   */
  async wait(user: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const outcome = await consume(this.#limiter, user);
      if (outcome.allowed) return;
      await this.#sleep(outcome.retryMs, signal);
    }
  }

  /**
   * Counts one operation of `user`.
   * @throws FosError `FOS_ERR_NET_RATE_LIMITED` with `details.retryMs` when over the limit;
   * `FOS_ERR_PROTO_INTERNAL` when the counter store fails.
   */
  async take(user: string): Promise<void> {
    const outcome = await consume(this.#limiter, user);
    if (!outcome.allowed) {
      throw new FosError('FOS_ERR_NET_RATE_LIMITED', `too many operations; retry in ${outcome.retryMs} ms`, {
        details: { retryMs: outcome.retryMs },
      });
    }
  }
}
