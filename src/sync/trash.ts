/**
 * The local trash: a deletion that arrives from the server moves the local file into
 * `<stateDir>/trash/<YYYY-MM-DD>/<stamp>-<n>/<path>` instead of unlinking it, so no sync
 * mistake destroys data on this device either. Old days are pruned after the retention.
 */
import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode } from '../errors.js';
import { localError, localPath } from './local-fs.js';

/** Default days a trashed file is kept. */
export const DEFAULT_TRASH_RETENTION_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;
const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/u;

/** A local trash folder. */
export class LocalTrash {
  readonly dir: string;
  #counter = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Moves `root/diskPath` (a file or a whole folder) into the trash and returns where it
   * went. Across file systems it is copied, then removed.
   * @throws FosError `FOS_ERR_SYNC_LOCAL_IO`; the original stays when the copy fails.
   */
  async keep(root: string, diskPath: string, now: number): Promise<string> {
    const day = new Date(now).toISOString().slice(0, 10);
    this.#counter += 1;
    const target = join(this.dir, day, `${now}-${process.pid}-${this.#counter}`, ...diskPath.split('/'));
    const source = localPath(root, diskPath);
    try {
      await mkdir(dirname(target), { recursive: true });
      await rename(source, target);
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV') throw localError(err, `cannot move ${source} to the trash`);
      try {
        await cp(source, target, { recursive: true, preserveTimestamps: true, errorOnExist: true, force: false });
        await rm(source, { recursive: true });
      } catch (copyErr) {
        throw localError(copyErr, `cannot copy ${source} to the trash`);
      }
    }
    return target;
  }

  /** Removes day folders older than `retentionDays`. Never throws: pruning is best effort. */
  async prune(now: number, retentionDays: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      // No trash folder yet, or unreadable: nothing to prune, and syncing goes on.
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (!DAY_FOLDER.test(name)) continue;
      const dayMs = Date.parse(`${name}T00:00:00Z`);
      if (Number.isNaN(dayMs) || now - dayMs < (retentionDays + 1) * DAY_MS) continue;
      try {
        await rm(join(this.dir, name), { recursive: true, force: true });
        removed += 1;
      } catch {
        // A day that cannot be removed now is tried again at the next prune.
      }
    }
    return removed;
  }
}
