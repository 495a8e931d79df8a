import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reconcile } from './reconcile.js';
import { scanScope } from './scope.js';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('scanScope', () => {
  // Issue 11 (fos status --why): the scan kept one of two names that are one name in NFC,
  // so a pass synced whichever was listed last instead of holding both.
  it('keeps both spellings of a name (NFC and NFD) so that reconcile holds them as a collision', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fos-scope-'));
    dirs.push(root);
    await writeFile(join(root, '\u00e9.txt'), 'one code point');
    await writeFile(join(root, 'e\u0301.txt'), 'two code points');
    const scanned = await scanScope(root, [''], new Map(), { isIgnored: () => false });
    expect([...scanned.local.values()].map((s) => s.diskPath).sort()).toEqual(['e\u0301.txt', '\u00e9.txt'].sort());
    expect([...scanned.local.values()].every((s) => s.path === '\u00e9.txt')).toBe(true);
    const plan = reconcile({ base: new Map(), local: scanned.local, remote: new Map(), device: 'd', now: 0 });
    expect(plan.ops).toEqual([]);
    expect(plan.problems).toEqual([{ code: 'nameCollision', path: '\u00e9.txt', paths: ['e\u0301.txt', '\u00e9.txt'] }]);
  });
});
