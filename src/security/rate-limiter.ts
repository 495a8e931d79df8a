/**
 * One rate-limiter-flexible limiter on a {@link LimitBackend}: RateLimiterMemory, or
 * RateLimiterRedis insured by a RateLimiterMemory that takes over while Redis is down (a
 * node then limits on its own counts instead of letting everything through).
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { FosError } from '../errors.js';
import type { LimitBackend } from './types.js';

/** The longest window a limiter may use: in-memory counters expire by timer, and Node timers stop at 24.8 days. */
export const MAX_WINDOW_SECONDS = 7 * 86_400;

/** A limit: `points` per `durationSec`; once over, blocked for `blockSec` (0: until the window ends). */
export interface LimitSpec {
  readonly points: number;
  readonly durationSec: number;
  readonly blockSec?: number;
}

/**
 * Builds a limiter for `spec`, its keys prefixed with the backend's prefix and `name`.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` when the spec is out of range.
 */
export function createLimiter(backend: LimitBackend, name: string, spec: LimitSpec): RateLimiterAbstract {
  checkSpec(name, spec);
  const options = {
    points: spec.points,
    duration: spec.durationSec,
    blockDuration: spec.blockSec ?? 0,
  };
  if (backend.kind === 'memory') return new RateLimiterMemory({ ...options, keyPrefix: name });
  return new RateLimiterRedis({
    ...options,
    keyPrefix: `${backend.keyPrefix ?? 'fos:'}${name}`,
    storeClient: backend.client,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ ...options, keyPrefix: `${name}-insurance` }),
  });
}

/** The result of a consume: allowed, or refused with the wait until the next attempt may pass. */
export type ConsumeOutcome = { readonly allowed: true } | { readonly allowed: false; readonly retryMs: number };

/**
 * Consumes `points` for `key`; a refusal is a value, not an exception.
 * @throws FosError `FOS_ERR_PROTO_INTERNAL` when the store fails and no fallback answered.
 */
export async function consume(limiter: RateLimiterAbstract, key: string, points = 1): Promise<ConsumeOutcome> {
  try {
    await limiter.consume(key, points);
    return { allowed: true };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { allowed: false, retryMs: Math.max(1, Math.ceil(err.msBeforeNext)) };
    throw new FosError('FOS_ERR_PROTO_INTERNAL', 'the rate limiter store failed', { cause: err });
  }
}

/**
 * How long until `key` may consume again: 0 when it is under the limit now.
 * @throws FosError `FOS_ERR_PROTO_INTERNAL` when the store fails.
 */
export async function blockedForMs(limiter: RateLimiterAbstract, key: string): Promise<number> {
  let res: RateLimiterRes | null;
  try {
    res = await limiter.get(key);
  } catch (err) {
    throw new FosError('FOS_ERR_PROTO_INTERNAL', 'the rate limiter store failed', { cause: err });
  }
  if (res === null || res.consumedPoints < limiter.points) return 0;
  return Math.max(1, Math.ceil(res.msBeforeNext));
}

/**
 * Gives back `points` for `key` (a reserved attempt that turned out fine).
 * @throws FosError `FOS_ERR_PROTO_INTERNAL` when the store fails.
 */
export async function refund(limiter: RateLimiterAbstract, key: string, points = 1): Promise<void> {
  try {
    await limiter.reward(key, points);
  } catch (err) {
    throw new FosError('FOS_ERR_PROTO_INTERNAL', 'the rate limiter store failed', { cause: err });
  }
}

/**
 * Forgets `key`.
 * @throws FosError `FOS_ERR_PROTO_INTERNAL` when the store fails.
 */
export async function forget(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.delete(key);
  } catch (err) {
    throw new FosError('FOS_ERR_PROTO_INTERNAL', 'the rate limiter store failed', { cause: err });
  }
}

function checkSpec(name: string, spec: LimitSpec): void {
  const { points, durationSec, blockSec = 0 } = spec;
  if (!Number.isInteger(points) || points < 1) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `${name}: points must be a positive integer, not ${String(points)}`);
  }
  for (const [field, value] of [['durationSec', durationSec], ['blockSec', blockSec]] as const) {
    // Whole seconds: Redis expiries are set with EX, which takes an integer.
    const least = field === 'durationSec' ? 1 : 0;
    if (!Number.isInteger(value) || value < least || value > MAX_WINDOW_SECONDS) {
      throw new FosError('FOS_ERR_CONFIG_INVALID', `${name}: ${field} must be a whole number of seconds from ${least} to ${MAX_WINDOW_SECONDS}`);
    }
  }
}
