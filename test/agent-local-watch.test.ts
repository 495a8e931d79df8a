/**
 * The agent's local watcher watches folders only (issue 8, M1: a watch per file made an idle
 * agent over 100,000 files take more than a GB), and still names every file that is
 * created, written, renamed or removed in a watched folder, through that folder's watch.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchLocal } from '../src/agent/local-watch.js';
import type { LocalWatch } from '../src/agent/local-watch.js';
import { createLogger } from '../src/log/logger.js';
import { closeFolderPair, openFolderPair } from '../src/sync/folder-pair.js';
import type { FolderPair } from '../src/sync/folder-pair.js';

let home: string | undefined;
let pair: FolderPair | undefined;
let watch: LocalWatch | undefined;

afterEach(async () => {
  await watch?.close();
  if (pair !== undefined) await closeFolderPair(pair);
  if (home !== undefined) await rm(home, { recursive: true, force: true });
  [home, pair, watch] = [undefined, undefined, undefined];
});

/** Polls until `seen` holds `path`, or fails at the deadline. */
async function sees(seen: Set<string>, path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!seen.has(path)) {
    if (Date.now() > deadline) throw new Error(`the watcher never named ${path}; it named ${[...seen].join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the local watcher', () => {
  it('names files created, written, renamed and removed in watched folders, through the folders alone', async () => {
    home = await mkdtemp(join(tmpdir(), 'fos-local-watch-'));
    const local = join(home, 'folder');
    await mkdir(join(local, 'docs/deep'), { recursive: true });
    await writeFile(join(local, 'docs/deep/old.txt'), 'old');
    await writeFile(join(local, 'top.txt'), 'top');
    pair = await openFolderPair({ local, remote: '', stateDir: join(home, 'state'), device: 'watcher', settleMs: 0 });
    const seen = new Set<string>();
    watch = watchLocal(pair, { onPath: (path) => seen.add(path), onAll: () => undefined, onIgnoreFile: () => undefined }, createLogger({ level: 'silent' }));
    await watch.ready;
    expect(watch.watchedPaths()).toEqual(['', 'docs', 'docs/deep']);

    await writeFile(join(local, 'docs/deep/new.txt'), 'new');
    await sees(seen, 'docs/deep/new.txt');
    await writeFile(join(local, 'top.txt'), 'top, edited');
    await sees(seen, 'top.txt');
    await rename(join(local, 'docs/deep/old.txt'), join(local, 'docs/renamed.txt'));
    await sees(seen, 'docs/deep/old.txt');
    await sees(seen, 'docs/renamed.txt');
    // Forgotten before the removal: its event may come before `rm` resolves.
    seen.delete('docs/renamed.txt');
    await rm(join(local, 'docs/renamed.txt'));
    await sees(seen, 'docs/renamed.txt');
    // A new folder is named itself (the pass over it sees what is already inside); once
    // its watch is up, its files are named one by one.
    await mkdir(join(local, 'later'));
    await sees(seen, 'later');
    await until(() => watch?.watchedPaths().includes('later') === true);
    await writeFile(join(local, 'later/inside.txt'), 'inside a folder made after the start');
    await sees(seen, 'later/inside.txt');
    // Still no watch of its own for any file.
    expect(watch.watchedPaths().filter((path) => path.endsWith('.txt'))).toEqual([]);
  });
});
