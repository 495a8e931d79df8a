/**
 * Bandwidth limits per user: a token bucket that transfer loops `await take(user, bytes)`
 * on before they send or after they receive each chunk. It never refuses, it delays: a
 * transfer slows to the configured rate instead of failing.
 *
 * The bucket runs into debt: a chunk larger than what is left is taken at once and the
 * wait is the time the bucket needs to refill to zero. Over any stretch of time a user
 * therefore moves at most `burstBytes + bytesPerSecond × seconds`, whatever the chunk size.
 * With Redis, the bucket lives in one hash per user and a Lua script updates it
 * atomically, so that several server nodes share one budget; while Redis is unreachable
 * each node keeps its own bucket in memory.
 *
 * Limitation: the refill uses the calling node's clock (injected, so tests drive it);
 * nodes sharing a Redis should keep their clocks in step (NTP), and a clock that steps
 * backwards is treated as no time passing.
 */
import { FosError } from '../errors.js';
import { systemClock, systemSleep, type Clock, type LimitBackend, type RedisClient, type Sleep } from './types.js';

/** Options of {@link ByteThrottle}. */
export interface ByteThrottleSettings {
  /** The sustained rate per user. */
  readonly bytesPerSecond: number;
  /** What a user may move at once after a quiet spell; a tenth of a second's worth when absent. */
  readonly burstBytes?: number;
  /** Names the bucket (`upload`, `download`): one user has one bucket per name. */
  readonly name: string;
  readonly clock?: Clock;
  readonly sleep?: Sleep;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Most buckets kept in memory before full ones are dropped (a full bucket is the same as none). */
const MAX_MEMORY_BUCKETS = 10_000;

/** Refills the bucket in Redis, takes ARGV[4] bytes and returns the wait in ms. Times are the caller's clock. */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local take = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
if now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate)
  updated = now
end
tokens = tokens - take
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(updated))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
if tokens < 0 then
  return math.ceil(-tokens / rate)
end
return 0
`;

/** A per-user token bucket that delays transfers to a byte rate. */
export class ByteThrottle {
  readonly bytesPerSecond: number;
  readonly burstBytes: number;
  readonly #name: string;
  readonly #clock: Clock;
  readonly #sleep: Sleep;
  readonly #redis: RedisClient | undefined;
  readonly #keyPrefix: string;
  readonly #buckets = new Map<string, Bucket>();

  /** @throws FosError `FOS_ERR_CONFIG_INVALID` when the rate or burst is not positive. */
  constructor(backend: LimitBackend, settings: ByteThrottleSettings) {
    const { bytesPerSecond } = settings;
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
      throw new FosError('FOS_ERR_CONFIG_INVALID', `${settings.name}: bytes per second must be positive`);
    }
    const burst = settings.burstBytes ?? Math.max(1, Math.ceil(bytesPerSecond / 10));
    if (!Number.isFinite(burst) || burst <= 0) {
      throw new FosError('FOS_ERR_CONFIG_INVALID', `${settings.name}: burst bytes must be positive`);
    }
    this.bytesPerSecond = bytesPerSecond;
    this.burstBytes = burst;
    this.#name = settings.name;
    this.#clock = settings.clock ?? systemClock;
    this.#sleep = settings.sleep ?? systemSleep;
    this.#redis = backend.kind === 'redis' ? backend.client : undefined;
    this.#keyPrefix = backend.kind === 'redis' ? `${backend.keyPrefix ?? 'fos:'}bytes-${settings.name}:` : '';
  }

  /**
   * Takes `bytes` from `user`'s bucket and waits until the bucket is out of debt.
   * @throws the signal's reason when `signal` aborts the wait.
   */
  async take(user: string, bytes: number, signal?: AbortSignal): Promise<void> {
    if (bytes <= 0) return;
    const waitMs = await this.reserve(user, bytes);
    if (waitMs > 0) await this.#sleep(waitMs, signal);
  }

  /** Takes `bytes` from `user`'s bucket without waiting; resolves to the wait in ms the caller owes. */
  async reserve(user: string, bytes: number): Promise<number> {
    const now = this.#clock();
    if (this.#redis !== undefined && this.#redis.status === 'ready') {
      try {
        const rate = this.bytesPerSecond / 1000;
        const result: unknown = await this.#redis.eval(
          TAKE_SCRIPT,
          1,
          `${this.#keyPrefix}${user}`,
          String(rate),
          String(this.burstBytes),
          String(now),
          String(bytes),
        );
        if (typeof result === 'number') return result;
      } catch {
        // Redis failed mid-call: this node limits on its own bucket until Redis is back
        // (each node then allows the full rate on its own; no transfer is stopped).
      }
    }
    return this.#takeFromMemory(user, bytes, now);
  }

  #takeFromMemory(user: string, bytes: number, now: number): number {
    const rate = this.bytesPerSecond / 1000;
    let bucket = this.#buckets.get(user);
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_MEMORY_BUCKETS) this.#dropFull(now);
      bucket = { tokens: this.burstBytes, updatedAt: now };
      this.#buckets.set(user, bucket);
    }
    if (now > bucket.updatedAt) {
      bucket.tokens = Math.min(this.burstBytes, bucket.tokens + (now - bucket.updatedAt) * rate);
      bucket.updatedAt = now;
    }
    bucket.tokens -= bytes;
    return bucket.tokens < 0 ? Math.ceil(-bucket.tokens / rate) : 0;
  }

  #dropFull(now: number): void {
    const rate = this.bytesPerSecond / 1000;
    for (const [user, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.updatedAt) * rate >= this.burstBytes) this.#buckets.delete(user);
    }
  }

  /** The bucket's name, for logs. */
  get name(): string {
    return this.#name;
  }
}
