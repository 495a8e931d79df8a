/**
 * Connecting to the Redis that holds shared limit counters. The client fails fast while
 * Redis is unreachable (no offline queue), so that a login or a transfer never hangs on it;
 * the limiters then fall back to counting in memory until Redis is back.
 */
import type { Redis } from 'ioredis';
import { FosError } from '../errors.js';

/** How long to wait for the first connection by default. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 5_000;

/** Options of {@link connectRedis}. */
export interface ConnectRedisOptions {
  readonly timeoutMs?: number;
}

/**
 * Connects to `url` (`redis://host:port/db`) and resolves once the client is ready.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` for a malformed URL, `FOS_ERR_NET_CONNECT` when
 * Redis does not answer in time.
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url)) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `the Redis URL must start with redis:// or rediss://, not '${url.slice(0, 40)}'`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS;
  // Loaded on demand: only servers configured with Redis need the driver.
  const { Redis: RedisClient } = await import('ioredis');
  const client = new RedisClient(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: timeoutMs,
    // Keep retrying in the background, at most every 2 s, while the limiters use memory.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // Errors surface through failed commands (and the in-memory fallback); an unhandled
  // 'error' event would instead crash the server when Redis restarts.
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return client;
  } catch (err) {
    client.disconnect();
    const reason = err instanceof Error ? err.message : String(err);
    throw new FosError('FOS_ERR_NET_CONNECT', `cannot connect to Redis at ${redactUrl(url)}: ${reason}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client from {@link connectRedis}; idempotent. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    // quit fails when the connection is already down; disconnect then ends it for good.
    client.disconnect();
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
