/**
 * A small pool of authenticated connections: `acquire` hands out an idle client or opens a
 * new one while fewer than `size` exist, broken clients are dropped on `release`, and
 * `run` combines a pooled call with retries, so a lost connection is replaced and the
 * operation tried again.
 */
import { FosError } from '../errors.js';
import { abortError } from './clock.js';
import { retry } from './retry.js';
import type { RetryOptions } from './retry.js';
import { FosClient } from './session.js';
import type { ConnectionOptions } from './types.js';

/** Options of a ClientPool. */
export interface PoolOptions extends ConnectionOptions {
  /** Most connections open at once (default 4). */
  readonly size?: number;
}

interface Waiter {
  /** A released client, or null: a slot is free, connect. */
  readonly resolve: (client: FosClient | null) => void;
  readonly reject: (err: unknown) => void;
}

/** Up to `size` FosClients for concurrent work. `close()` is idempotent. */
export class ClientPool {
  readonly size: number;
  readonly #options: PoolOptions;
  readonly #idle: FosClient[] = [];
  readonly #waiters: Waiter[] = [];
  #open = 0;
  #closed: Promise<void> | null = null;

  constructor(options: PoolOptions) {
    this.#options = options;
    this.size = Math.max(1, options.size ?? 4);
  }

  /**
   * A logged-in client for the caller alone; give it back with `release`.
   * @throws FosError from connecting, `FOS_ERR_NET_CLOSED` once the pool is closed, or the
   * abort error.
   */
  async acquire(signal?: AbortSignal): Promise<FosClient> {
    for (;;) {
      if (this.#closed !== null) throw new FosError('FOS_ERR_NET_CLOSED', 'the connection pool is closed');
      if (signal?.aborted === true) throw abortError(signal);
      const idle = this.#takeIdle();
      if (idle !== null) return idle;
      if (this.#open < this.size) return this.#connect(signal);
      const handed = await this.#wait(signal);
      if (handed !== null) return handed;
    }
  }

  /** Gives a client back: kept when still usable, closed and replaced later otherwise. */
  release(client: FosClient): void {
    if (this.#closed === null && client.isUsable) {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter.resolve(client);
      else this.#idle.push(client);
      return;
    }
    this.#open -= 1;
    void client.close();
    this.#waiters.shift()?.resolve(null);
  }

  /** Runs `fn` with a pooled client and releases it, whatever happens. */
  async use<T>(fn: (client: FosClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const client = await this.acquire(signal);
    try {
      return await fn(client);
    } finally {
      this.release(client);
    }
  }

  /**
   * `use` with retries on transient errors; each attempt may get a fresh connection.
   * @throws as `retry` does.
   */
  run<T>(fn: (client: FosClient) => Promise<T>, options: RetryOptions = {}): Promise<T> {
    const clock = this.#options.clock;
    return retry(() => this.use(fn, options.signal), clock === undefined ? options : { clock, ...options });
  }

  /** Closes idle connections and refuses new work; clients in use close on release. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const waiter of this.#waiters.splice(0)) waiter.reject(new FosError('FOS_ERR_NET_CLOSED', 'the connection pool is closed'));
      const idle = this.#idle.splice(0);
      this.#open -= idle.length;
      await Promise.all(idle.map((client) => client.quit()));
    })();
    return this.#closed;
  }

  #takeIdle(): FosClient | null {
    for (let client = this.#idle.pop(); client !== undefined; client = this.#idle.pop()) {
      if (client.isUsable) return client;
      this.#open -= 1;
      void client.close();
    }
    return null;
  }

  async #connect(signal: AbortSignal | undefined): Promise<FosClient> {
    this.#open += 1;
    try {
      return await FosClient.connect(this.#options, signal);
    } catch (err) {
      this.#open -= 1;
      this.#waiters.shift()?.resolve(null);
      throw err;
    }
  }

  #wait(signal: AbortSignal | undefined): Promise<FosClient | null> {
    return new Promise<FosClient | null>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
        reject(abortError(signal as AbortSignal));
      };
      const waiter: Waiter = {
        resolve: (client) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(client);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
