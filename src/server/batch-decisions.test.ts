/**
 * The pure rules of held batches on the server (issue 11): which step holding takes, and
 * what approving a `remote` batch may delete (an edit wins; a folder that keeps anything
 * stays).
 */
import { describe, expect, it } from 'vitest';
import type { DeletionBatch, DeletionItem, Entry } from '../protocol/types.js';
import { deletable } from './batch-decisions.js';
import { holdStep } from './held-batches.js';

function entry(path: string, rev: number, kind: 'file' | 'dir' = 'file'): Entry {
  return { path, kind, size: kind === 'file' ? 1 : 0, mtimeMs: 1, sha256: kind === 'file' ? 'a'.repeat(64) : '', rev, deleted: false };
}

function item(path: string, rev: number, kind: 'file' | 'dir' = 'file'): DeletionItem {
  return { path, kind, rev, size: kind === 'file' ? 1 : 0, sha256: kind === 'file' ? 'a'.repeat(64) : '' };
}

function live(...entries: Entry[]): Map<string, Entry> {
  return new Map(entries.map((e) => [e.path, e]));
}

const pending: DeletionBatch = {
  id: 'k3f9q2xm',
  device: 'laptop',
  folder: '',
  side: 'remote',
  state: 'held',
  createdAt: 1,
  resolvedAt: null,
  count: 2,
  bytes: 2,
  commitRev: null,
  successor: null,
  itemsKey: 'key-1',
};

describe('holdStep', () => {
  it('creates, keeps, supersedes, withdraws, or does nothing', () => {
    expect(holdStep(null, 'key-1', 2)).toBe('created');
    expect(holdStep(pending, 'key-1', 2)).toBe('same');
    expect(holdStep(pending, 'key-2', 3)).toBe('superseded');
    expect(holdStep(pending, 'key-0', 0)).toBe('withdrawn');
    expect(holdStep(null, 'key-0', 0)).toBe('none');
  });
});

describe('deletable (approve, side remote)', () => {
  it('deletes files still at their held revision and the folders they empty, deepest first', () => {
    const current = live(entry('a', 1, 'dir'), entry('a/b', 2, 'dir'), entry('a/b/x', 3), entry('a/y', 4), entry('keep', 5));
    const out = deletable([item('a', 1, 'dir'), item('a/b', 2, 'dir'), item('a/b/x', 3), item('a/y', 4)], current);
    expect(out.map((e) => e.path)).toEqual(['a/b/x', 'a/y', 'a/b', 'a']);
  });

  it('keeps a file changed since it was held, and every folder above it', () => {
    const current = live(entry('a', 1, 'dir'), entry('a/b', 2, 'dir'), entry('a/b/x', 9), entry('a/y', 4));
    const out = deletable([item('a', 1, 'dir'), item('a/b', 2, 'dir'), item('a/b/x', 3), item('a/y', 4)], current);
    expect(out.map((e) => e.path)).toEqual(['a/y']);
  });

  it('keeps a folder that holds something not in the batch, or that changed kind or revision', () => {
    const current = live(entry('a', 1, 'dir'), entry('a/new.txt', 7), entry('b', 2, 'dir'), entry('c', 8, 'dir'));
    expect(deletable([item('a', 1, 'dir'), item('b', 1, 'dir'), item('c', 8)], current)).toEqual([]);
  });

  it('skips items already gone', () => {
    expect(deletable([item('gone.txt', 3), item('gone', 2, 'dir')], live())).toEqual([]);
  });
});
