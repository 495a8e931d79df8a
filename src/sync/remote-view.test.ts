/**
 * The remote view keeps the tombstone revision of every deleted path the manifest still
 * knows (issue 11: held and approved local deletions are named by their tombstones).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../protocol/types.js';
import { RemoteView } from './remote-view.js';

function entry(path: string, rev: number, deleted = false): Entry {
  return { path, kind: 'file', size: 1, mtimeMs: 1, sha256: 'a'.repeat(64), rev, deleted };
}

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-view-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RemoteView tombstones', () => {
  it('records deletions with their revision, forgets them when the path comes back, and keeps them across a save', async () => {
    const file = join(dir, 'p.remote.json');
    const view = new RemoteView(file, 'docs');
    view.apply({ entries: [entry('docs/a', 1), entry('docs/b', 2), entry('other/x', 3, true)], rev: 3 });
    view.apply({ entries: [entry('docs/a', 4, true), entry('docs/b', 5, true)], rev: 5 });
    view.apply({ entries: [entry('docs/b', 6)], rev: 6 });
    expect([...view.tombstones]).toEqual([['a', 4]]);
    await view.save();
    const loaded = await RemoteView.load(file, 'docs');
    expect([...loaded.tombstones]).toEqual([['a', 4]]);
    expect(loaded.cursor).toBe(6);
    loaded.pruneTombstones((path) => path !== 'a');
    expect(loaded.tombstones.size).toBe(0);
    expect(loaded.isDirty).toBe(true);
  });

  it('rebuilds a view saved before tombstones were kept, from the whole feed', async () => {
    const file = join(dir, 'old.remote.json');
    await writeFile(file, JSON.stringify({ version: 1, remoteRoot: '', cursor: 9, entries: [entry('a', 9)] }));
    const view = await RemoteView.load(file, '');
    expect(view.cursor).toBe(0);
    expect(view.entries.size).toBe(0);
  });
});

// Issue 8 (M1): an idle agent keeps a saved view on disk only.
describe('RemoteView release', () => {
  it('drops a saved view from memory, refuses to hand out the empty one, and reads it back', async () => {
    const file = join(dir, 'p.remote.json');
    const view = new RemoteView(file, 'docs');
    view.apply({ entries: [entry('docs/a', 1), entry('docs/b', 2, true)], rev: 2 });
    expect(view.release()).toBe(false);
    await view.save();
    expect(view.release()).toBe(true);
    expect(view.isReleased).toBe(true);
    expect(view.cursor).toBe(2);
    expect(() => view.entries).toThrow(expect.objectContaining({ code: 'FOS_ERR_SYNC_MANIFEST' }) as Error);
    expect(() => view.apply({ entries: [], rev: 3 })).toThrow(expect.objectContaining({ code: 'FOS_ERR_SYNC_MANIFEST' }) as Error);
    await view.ensureLoaded();
    expect([...view.entries.keys()]).toEqual(['a']);
    expect([...view.tombstones]).toEqual([['b', 2]]);
    expect(view.isDirty).toBe(false);
  });

  it('rebuilds from revision 0 when the saved file went away while released', async () => {
    const file = join(dir, 'p.remote.json');
    const view = new RemoteView(file, 'docs');
    view.apply({ entries: [entry('docs/a', 1)], rev: 1 });
    await view.save();
    view.release();
    await rm(file);
    await view.ensureLoaded();
    expect(view.cursor).toBe(0);
    expect(view.entries.size).toBe(0);
    expect(view.isDirty).toBe(true);
  });
});
