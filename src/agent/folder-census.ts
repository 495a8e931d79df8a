/**
 * The census of a pair's folder for the watcher budget: every folder the watcher would
 * watch and how many files sit directly in each, by listing folders only (no stat, no
 * hash), so that it stays cheap enough to repeat at every rescan. Ignored paths, fos's own
 * `.fos` folder and symlinks (chokidar does not watch them) are left out.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FOS_DIR } from '../sync/root-identity.js';
import { joinPath, toNfc } from '../sync/path-tree.js';
import type { CensusFolder, PairCensus } from './watch-plan.js';

/** Entries looked at between two yields to the event loop. */
const YIELD_EVERY = 2_000;

/**
 * Counts the folders under `root`. A root that is missing or cannot be listed has no
 * folders (the pass reports it); a subfolder that cannot be listed counts with no files.
 * @throws the signal's reason when aborted.
 */
export async function takeCensus(root: string, isIgnored: (path: string, isDir: boolean) => boolean, signal?: AbortSignal): Promise<PairCensus> {
  const folders: CensusFolder[] = [];
  const stack: string[] = [''];
  let sinceYield = 0;
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const dir = stack.pop() as string;
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir === '' ? root : join(root, dir), { withFileTypes: true });
    } catch {
      // Gone or unreadable: the root then has no folders to watch; a subfolder keeps its
      // watch (chokidar tries it) and the scan reports what it cannot read.
      if (dir !== '') folders.push({ path: dir, files: 0 });
      continue;
    }
    let files = 0;
    for (const dirent of dirents) {
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const path = joinPath(dir, dirent.name);
      if (dirent.isSymbolicLink()) continue;
      if (dirent.isDirectory()) {
        if (path !== FOS_DIR && !isIgnored(toNfc(path), true)) stack.push(path);
      } else if (!isIgnored(toNfc(path), false)) {
        files += 1;
      }
    }
    folders.push({ path: dir, files });
  }
  return { folders };
}
