/**
 * Retries with exponential backoff and jitter, for transient failures only: the network,
 * timeouts, a server shutting down or busy. Transfers resume on the next attempt (the
 * server keeps partial uploads, downloads keep their temporary file).
 */
import { FosError } from '../errors.js';
import type { FosErrorCode } from '../errors.js';
import { abortError, sleep, systemClock } from './clock.js';
import type { Clock } from './types.js';

/** Codes worth another attempt: the same request may well succeed a little later. */
export const TRANSIENT_CODES: ReadonlySet<FosErrorCode> = new Set<FosErrorCode>([
  'FOS_ERR_NET_CONNECT',
  'FOS_ERR_NET_CLOSED',
  'FOS_ERR_NET_TIMEOUT',
  'FOS_ERR_PROTO_TIMEOUT',
  'FOS_ERR_PROTO_SHUTTING_DOWN',
  'FOS_ERR_NET_RATE_LIMITED',
  'FOS_ERR_STORE_CHANGED',
]);

/** True for an error another attempt may get past. */
export function isTransient(err: unknown): boolean {
  return err instanceof FosError && TRANSIENT_CODES.has(err.code);
}

/** What a retry is about to do. */
export interface RetryInfo {
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: FosError;
}

/** Backoff settings; every field has a default. */
export interface BackoffOptions {
  /** First delay (default 250 ms); it doubles each attempt. */
  readonly baseMs?: number;
  /** Longest delay (default 10 s). */
  readonly maxMs?: number;
  /** Share of each delay that is random, 0 to 1 (default 0.5), so clients do not retry in step. */
  readonly jitter?: number;
}

/** Options of `retry`. */
export interface RetryOptions extends BackoffOptions {
  /** Attempts after the first (default 3). */
  readonly retries?: number;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** A number in [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Which errors to retry; `isTransient` by default. */
  readonly isRetryable?: (err: unknown) => boolean;
  /** Told before each wait. */
  readonly onRetry?: (info: RetryInfo) => void;
}

/**
 * The delay before attempt `attempt + 1`: `baseMs * 2^(attempt-1)` capped at `maxMs`, of
 * which a `jitter` share is scaled by `random` (in [0, 1)).
 */
export function backoffMs(attempt: number, random: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const full = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(full * (1 - jitter) + full * jitter * random);
}

/**
 * Runs `fn` and retries it on transient errors, waiting longer each time. A rate-limited
 * reply's `retryMs` is honoured as the shortest wait.
 * @throws the last error when attempts run out or the error is not retryable; the abort
 * error when the signal fires during a wait.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 3;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const isRetryable = options.isRetryable ?? isTransient;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (options.signal?.aborted === true) throw abortError(options.signal);
      if (attempt > retries || !isRetryable(err)) throw err;
      const error = err instanceof FosError ? err : new FosError('FOS_ERR_PROTO_INTERNAL', String(err), { cause: err });
      const retryMs = error.details['retryMs'];
      const delayMs = Math.max(backoffMs(attempt, random(), options), typeof retryMs === 'number' ? retryMs : 0);
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(clock, delayMs, options.signal);
    }
  }
}
