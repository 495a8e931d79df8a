/**
 * In-process per-user mutex: a promise chain per user name. Enough for a single server
 * node (the SQLite store); a store shared by several nodes needs a lock in the database.
 */

/** Serialises async work per key; different keys run concurrently. */
export class UserLocks {
  readonly #tails = new Map<string, Promise<void>>();

  /**
   * Runs `fn` once every earlier `run` for the same user has settled, and settles with
   * `fn`'s result. Not reentrant: calling `run` for the same user inside `fn` deadlocks.
   */
  async run<T>(user: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(user) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(user, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // Drop the chain when nobody queued behind us, so idle users cost no memory.
      if (this.#tails.get(user) === tail) this.#tails.delete(user);
    }
  }

  /** Users with work running or queued. */
  get busyUsers(): number {
    return this.#tails.size;
  }
}
