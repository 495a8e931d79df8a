/**
 * The watcher budget (issue 11): which folders the local watcher may watch when the system
 * limits watches per user (inotify on Linux). The watcher takes one watch per folder (files
 * are seen through their folder's watch, local-watch.ts), so a folder costs 1. Folders are taken
 * shallowest first, across every pair, while they fit; a folder is watched only when its
 * parent is, so the unwatched part is a set of whole subtrees that rescans cover. Pure.
 */
import { parentOf } from '../sync/path-tree.js';

/** One folder of a pair, as the census found it. */
export interface CensusFolder {
  /** Relative to the pair's root, as on disk, '/'-separated ('' for the root). */
  readonly path: string;
  /** Files directly in it (ignored ones left out); they cost no watch of their own. */
  readonly files: number;
}

/** Every folder of one pair that the watcher would watch, the root first. */
export interface PairCensus {
  readonly folders: readonly CensusFolder[];
}

/** What one pair may watch. */
export interface PairWatchPlan {
  /** Every folder is watched. */
  readonly complete: boolean;
  /** Folders in the pair. */
  readonly folders: number;
  readonly watchedFolders: number;
  /** Watches the whole pair would take. */
  readonly watchesNeeded: number;
  /** Watches the watched folders take. */
  readonly watches: number;
  /** The top folders of the unwatched subtrees, sorted ('' when not even the root fits). */
  readonly unwatched: readonly string[];
}

/** A reserve of watches left to other programs: a tenth of the limit, at most this many. */
const MAX_RESERVE = 65_536;

/**
 * The watches the agent allows itself: `maxWatches` from the config when set, else the
 * system's limit less a tenth (at most 65,536) for the other programs of the same user;
 * null when there is no limit to respect.
 */
export function watchBudget(limit: number | null, maxWatches: number | null): number | null {
  if (maxWatches !== null) return maxWatches;
  if (limit === null) return null;
  return Math.max(0, limit - Math.min(MAX_RESERVE, Math.ceil(limit / 10)));
}

/** Watches a folder takes: its own; its files are reported through it. */
function costOf(folder: CensusFolder): number {
  void folder;
  return 1;
}

/** Plans the watches of every pair within `budget` (null: no limit, everything is watched). */
export function planWatches(census: readonly PairCensus[], budget: number | null): PairWatchPlan[] {
  const needed = census.map((pair) => pair.folders.reduce((sum, folder) => sum + costOf(folder), 0));
  if (budget === null || needed.reduce((a, b) => a + b, 0) <= budget) {
    return census.map((pair, i) => ({
      complete: true,
      folders: pair.folders.length,
      watchedFolders: pair.folders.length,
      watchesNeeded: needed[i] ?? 0,
      watches: needed[i] ?? 0,
      unwatched: [],
    }));
  }
  const order: { pair: number; folder: CensusFolder; depth: number }[] = [];
  census.forEach((pair, i) => {
    for (const folder of pair.folders) order.push({ pair: i, folder, depth: folder.path === '' ? 0 : folder.path.split('/').length });
  });
  order.sort((a, b) => a.depth - b.depth || a.pair - b.pair || (a.folder.path < b.folder.path ? -1 : a.folder.path > b.folder.path ? 1 : 0));
  const watched = census.map(() => new Set<string>());
  const unwatched = census.map((): string[] => []);
  const used = census.map(() => 0);
  let left = budget;
  for (const { pair, folder } of order) {
    const mine = watched[pair] as Set<string>;
    const parentWatched = folder.path === '' || mine.has(parentOf(folder.path));
    if (!parentWatched) continue;
    const cost = costOf(folder);
    if (cost <= left) {
      mine.add(folder.path);
      left -= cost;
      used[pair] = (used[pair] ?? 0) + cost;
    } else {
      (unwatched[pair] as string[]).push(folder.path);
    }
  }
  return census.map((pair, i) => {
    const tops = (unwatched[i] as string[]).sort();
    return {
      complete: tops.length === 0,
      folders: pair.folders.length,
      watchedFolders: (watched[i] as Set<string>).size,
      watchesNeeded: needed[i] ?? 0,
      watches: used[i] ?? 0,
      unwatched: tops,
    };
  });
}
