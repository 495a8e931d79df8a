import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWatchLimit } from './watch-limit.js';
import { planWatches, watchBudget } from './watch-plan.js';
import type { PairCensus } from './watch-plan.js';

/** root (2 files) → a (1), b (5) → a/deep (0) → a/deep/er (3). */
const TREE: PairCensus = {
  folders: [
    { path: '', files: 2 },
    { path: 'a', files: 1 },
    { path: 'b', files: 5 },
    { path: 'a/deep', files: 0 },
    { path: 'a/deep/er', files: 3 },
  ],
};

describe('watchBudget', () => {
  it('leaves a tenth of the limit to other programs, at most 65,536', () => {
    expect(watchBudget(50, null)).toBe(45);
    expect(watchBudget(8, null)).toBe(7);
    expect(watchBudget(8192, null)).toBe(7372);
    expect(watchBudget(4_000_000, null)).toBe(4_000_000 - 65_536);
  });

  it('takes maxWatches from the config over the limit, and has none without either', () => {
    expect(watchBudget(50, 12)).toBe(12);
    expect(watchBudget(null, 12)).toBe(12);
    expect(watchBudget(null, null)).toBeNull();
  });
});

describe('planWatches', () => {
  // Issue 8: a folder costs one watch; its files are reported through it.
  it('watches everything when it fits or when there is no limit', () => {
    for (const budget of [null, 5, 1000]) {
      const [plan] = planWatches([TREE], budget);
      expect(plan).toEqual({ complete: true, folders: 5, watchedFolders: 5, watchesNeeded: 5, watches: 5, unwatched: [] });
    }
  });

  it('takes the shallowest folders first and leaves whole subtrees out', () => {
    // root, a and b fit in 3; a/deep does not, and a/deep/er goes with it.
    const [plan] = planWatches([TREE], 3);
    expect(plan).toEqual({ complete: false, folders: 5, watchedFolders: 3, watchesNeeded: 5, watches: 3, unwatched: ['a/deep'] });
  });

  it('never watches a folder whose parent is unwatched', () => {
    const [plan] = planWatches([TREE], 2);
    expect(plan?.unwatched).toEqual(['a/deep', 'b']);
    expect(plan?.watchedFolders).toBe(2);
  });

  it('leaves the root out when not even it fits', () => {
    const [plan] = planWatches([TREE], 0);
    expect(plan).toMatchObject({ complete: false, watchedFolders: 0, watches: 0, unwatched: [''] });
  });

  it('shares one budget between pairs, shallow folders of every pair first', () => {
    const small: PairCensus = { folders: [{ path: '', files: 0 }, { path: 'x', files: 0 }, { path: 'x/y', files: 0 }] };
    const [first, second] = planWatches([TREE, small], 5);
    // Depth 0: both roots; depth 1: a, b and x (5 of 5); depth 2: neither a/deep nor x/y.
    expect(first).toMatchObject({ watchedFolders: 3, unwatched: ['a/deep'] });
    expect(second).toMatchObject({ watchedFolders: 2, unwatched: ['x/y'] });
  });
});

describe('readWatchLimit', () => {
  it('takes the lowest of the limits it can read and skips the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fos-limit-'));
    try {
      await writeFile(join(dir, 'host'), '8192\n');
      await writeFile(join(dir, 'namespace'), '50\n');
      await writeFile(join(dir, 'garbage'), 'lots\n');
      expect(await readWatchLimit([join(dir, 'host'), join(dir, 'namespace'), join(dir, 'garbage'), join(dir, 'missing')])).toBe(50);
      expect(await readWatchLimit([join(dir, 'missing')])).toBeNull();
      expect(await readWatchLimit([])).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
