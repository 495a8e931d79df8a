/**
 * Per-path error records (issue 11: per-file error isolation): a path that failed is
 * retried with exponential backoff and jitter while the other paths keep syncing, and
 * `fos status` lists it with its next retry time.
 */
import { backoffMs } from '../client/retry.js';
import { asFosError } from '../errors.js';
import type { Op } from './types.js';
import type { PathError } from './engine-types.js';

/** Backoff of a failing path: 2 s doubling up to 10 minutes. */
const PATH_BACKOFF = Object.freeze({ baseMs: 2000, maxMs: 10 * 60 * 1000, jitter: 0.3 });

/** The errors of one folder pair, by sync path. */
export class ErrorBook {
  readonly #errors = new Map<string, PathError>();
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Records a failure of `op` on `path` at `now`; returns the record with its next retry. */
  record(path: string, op: Op['kind'], err: unknown, now: number): PathError {
    const fos = asFosError(err, 'FOS_ERR_SYNC_LOCAL_IO');
    const attempts = (this.#errors.get(path)?.attempts ?? 0) + 1;
    const entry: PathError = {
      path,
      op,
      code: fos.code,
      message: fos.message,
      attempts,
      lastAt: now,
      nextRetryAt: now + backoffMs(attempts, this.#random(), PATH_BACKOFF),
    };
    this.#errors.set(path, entry);
    return entry;
  }

  /** The path synced: forget its errors. */
  clear(path: string): void {
    this.#errors.delete(path);
  }

  /** True when the path failed and its next retry time has not come. */
  isBackingOff(path: string, now: number): boolean {
    const entry = this.#errors.get(path);
    return entry !== undefined && entry.nextRetryAt > now;
  }

  /** Every record, oldest retry first. */
  list(): PathError[] {
    return [...this.#errors.values()].sort((a, b) => a.nextRetryAt - b.nextRetryAt);
  }

  /** The earliest next retry time, or null. */
  nextRetryAt(): number | null {
    let next: number | null = null;
    for (const entry of this.#errors.values()) if (next === null || entry.nextRetryAt < next) next = entry.nextRetryAt;
    return next;
  }

  /** Restores records (from the status file of an earlier run). */
  load(entries: readonly PathError[]): void {
    for (const entry of entries) this.#errors.set(entry.path, entry);
  }
}
