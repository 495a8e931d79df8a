/**
 * Which deletions approved batches exempt from the guard (issue 11): a `remote` batch's
 * items by the revision of the commit that deleted them, a `local` batch's by their own
 * tombstone revisions, only inside the pair's folder.
 */
import { describe, expect, it } from 'vitest';
import type { DeletionItem } from '../protocol/types.js';
import { approvalsOf } from './held-deletions.js';

function item(path: string, rev: number): DeletionItem {
  return { path, kind: 'file', rev, size: 1, sha256: 'a'.repeat(64) };
}

describe('approvalsOf', () => {
  it('names remote items by the commit revision, local ones by their own, relative to the folder', () => {
    const approvals = approvalsOf(
      [
        { batch: { side: 'remote', commitRev: 40 }, items: [item('docs/a.txt', 3), item('docs/sub/b.txt', 5), item('other/c.txt', 6)] },
        { batch: { side: 'local', commitRev: null }, items: [item('docs/a.txt', 44), item('docsx/d.txt', 7)] },
        // An approved remote batch that deleted nothing has no commit: it exempts nothing.
        { batch: { side: 'remote', commitRev: null }, items: [item('docs/e.txt', 8)] },
      ],
      'docs',
    );
    expect([...approvals.entries()].map(([path, revs]) => [path, [...revs]])).toEqual([
      ['a.txt', [40, 44]],
      ['sub/b.txt', [40]],
    ]);
    expect([...approvalsOf([{ batch: { side: 'local', commitRev: null }, items: [item('x', 2)] }], '').keys()]).toEqual(['x']);
  });
});
