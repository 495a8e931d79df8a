/**
 * The per-user write lock across server nodes: a session-level PostgreSQL advisory lock
 * held on a dedicated connection for as long as the locked work runs.
 *
 * Work in one process queues on an in-process lock first, so a process holds at most one
 * connection per locked user. The connections come from a pool of their own, so locked
 * work that commits (on the store's main pool) never waits for a connection that another
 * lock holder keeps.
 */
import type { Pool, PoolClient } from 'pg';
import { FOS_LOCK_NAMESPACE } from './postgres-migrate.js';
import { storeError } from './postgres-pool.js';
import { UserLocks } from './user-lock.js';

/** Serialises work per user across every process that shares the database. */
export class PgUserLocks {
  readonly #pool: Pool;
  readonly #local = new UserLocks();

  /** `pool` serves only lock sessions; its size bounds how many users are locked at once. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /**
   * Runs `fn` while this process holds `user`'s lock in the database; releases it when
   * `fn` settles. Not reentrant for the same user.
   * @throws FosError `FOS_ERR_STORE_WRITE` when the lock cannot be taken; whatever `fn` throws.
   */
  async run<T>(user: string, fn: () => Promise<T>): Promise<T> {
    return this.#local.run(user, async () => {
      const client = await this.#acquire(user);
      let broken: Error | undefined;
      // A checked-out client that loses its connection emits 'error', which would crash the
      // process without a listener. Its session, and so the lock, is gone: the unlock below
      // fails and the client is destroyed instead of going back to the pool.
      const onError = (err: Error): void => {
        broken = err;
      };
      client.on('error', onError);
      try {
        return await fn();
      } finally {
        try {
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [FOS_LOCK_NAMESPACE, user]);
        } catch (err) {
          // Destroying the connection ends its session, which releases the lock anyway.
          broken = err instanceof Error ? err : new Error(String(err));
        }
        client.removeListener('error', onError);
        client.release(broken ?? false);
      }
    });
  }

  async #acquire(user: string): Promise<PoolClient> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw storeError(err, `cannot lock user ${user}`);
    }
    try {
      // hashtext folds the name into 32 bits; two names that collide only share a lock.
      await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [FOS_LOCK_NAMESPACE, user]);
      return client;
    } catch (err) {
      client.release(err instanceof Error ? err : true);
      throw storeError(err, `cannot lock user ${user}`);
    }
  }
}
