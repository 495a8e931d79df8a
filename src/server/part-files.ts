/**
 * Partial files of uploads in flight: `tmp/<user>/<key>.part`, keyed by what is being
 * uploaded (user, path, size, SHA-256), so that the same upload started again finds the
 * bytes an interrupted attempt left and resumes after them.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { StorageLayout } from './storage-layout.js';

/** Suffix of a resumable partial file. */
export const PART_SUFFIX = '.part';

/**
 * The resume key of an upload: one per (user, path, size, content), where `content` is the
 * declared SHA-256 or, for a hash that comes at `EOF`, what stands for it (the mtime).
 */
export function partKey(user: string, path: string, size: number, content: string): string {
  return createHash('sha256').update(JSON.stringify([user, path, size, content])).digest('hex').slice(0, 40);
}

/** Releases a held key. Idempotent. */
export type Release = () => void;

/**
 * One writer per partial file. A second upload of the same file waits a little for the
 * first (most often a connection that just died and has not noticed yet), then gives up.
 */
export class PartLocks {
  readonly #held = new Map<string, Promise<void>>();

  /** Holds `key`, waiting up to `waitMs` for its holder; null when still held then. */
  async acquire(key: string, waitMs: number): Promise<Release | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const held = this.#held.get(key);
      if (held === undefined) break;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([held, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#held.set(key, released);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (this.#held.get(key) === released) this.#held.delete(key);
      release();
    };
  }

  /** True while `key` is held. */
  isHeld(key: string): boolean {
    return this.#held.has(key);
  }
}

/**
 * Removes partial files last written before `before`, and anything in `tmp/` that is not
 * a partial file (leftovers of a crash). Files whose key is held are kept.
 * Returns how many entries were removed.
 */
export async function purgeStaleParts(layout: StorageLayout, before: number, locks: PartLocks): Promise<number> {
  let removed = 0;
  for (const userDir of await listDir(layout.tmp)) {
    const folder = join(layout.tmp, userDir);
    const info = await lstat(folder).catch(() => null);
    if (info === null) continue;
    if (!info.isDirectory()) {
      await rm(folder, { force: true });
      removed += 1;
      continue;
    }
    for (const name of await listDir(folder)) {
      const file = join(folder, name);
      const key = name.endsWith(PART_SUFFIX) ? name.slice(0, -PART_SUFFIX.length) : null;
      if (key !== null && locks.isHeld(key)) continue;
      const stat = await lstat(file).catch(() => null);
      if (stat === null) continue;
      const isStale = key === null || !stat.isFile() || stat.mtimeMs < before;
      if (!isStale) continue;
      await rm(file, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
