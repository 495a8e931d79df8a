/**
 * Operations per user per second (the seed's "rate limiting"): every request after AUTH
 * takes one point; a user over the limit gets RATE_LIMITED with the wait, and the
 * connection stays usable. Counted with rate-limiter-flexible, in memory or Redis.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { FosError } from '../errors.js';
import { consume, createLimiter } from './rate-limiter.js';
import type { LimitBackend } from './types.js';

/** Options of {@link OpLimiter}. */
export interface OpLimitSettings {
  /** Operations a user may start per window. */
  readonly ops: number;
  /** The window in whole seconds; 1 when absent. */
  readonly perSeconds?: number;
}

/** Limits how many operations each user starts per second. */
export class OpLimiter {
  readonly #limiter: RateLimiterAbstract;

  /** @throws FosError `FOS_ERR_CONFIG_INVALID` when the limit is out of range. */
  constructor(backend: LimitBackend, settings: OpLimitSettings) {
    this.#limiter = createLimiter(backend, 'ops:', { points: settings.ops, durationSec: settings.perSeconds ?? 1 });
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
