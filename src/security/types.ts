/**
 * Shared seams of the security modules: the clock and the sleep they wait with, injected
 * so that tests drive time instead of waiting for it (STYLE.md §5), and where counters live.
 */
import type { Redis } from 'ioredis';

/** Milliseconds since the epoch, like `Date.now`. */
export type Clock = () => number;

/**
 * Waits `ms` milliseconds. Rejects with the signal's reason when `signal` aborts first.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The real clock. */
export const systemClock: Clock = () => Date.now();

/** The real sleep: a timer, cleared when the signal aborts. */
export const systemSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Where limit counters live: this process's memory (the default, one server), or Redis
 * so that several server nodes share them (DESIGN.md "Growing past one machine").
 */
export type LimitBackend =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'redis';
      /** An ioredis client; its owner closes it. */
      readonly client: RedisClient;
      /** Prepended to every key, e.g. `fos:`; tests use a unique one each. */
      readonly keyPrefix?: string;
    };

/** The ioredis client type, named here so that modules take one without importing ioredis. */
export type RedisClient = Redis;
