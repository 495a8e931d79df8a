import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CommittedEntry, TrashRecord } from '../store/types.js';
import { planRestore, versionsToRestore } from './restore-plan.js';
import type { RestoreInput, RestorePlan, UnrecoverableReason } from './restore-plan.js';

const AT = 1_000;

function sha(label: string): string {
  return label.repeat(64).slice(0, 64);
}

function liveFile(path: string, content: string, committedAt: number): CommittedEntry {
  return { path, kind: 'file', size: content.length, mtimeMs: committedAt, sha256: sha(content), rev: 1, deleted: false, committedAt };
}

function liveDir(path: string, committedAt: number): CommittedEntry {
  return { path, kind: 'dir', size: 0, mtimeMs: committedAt, sha256: '', rev: 1, deleted: false, committedAt };
}

let ids = 0;
function version(path: string, content: string, validFrom: number, trashedAt: number): TrashRecord {
  ids += 1;
  return {
    id: `v${ids}`,
    user: 'alice',
    path,
    size: content.length,
    mtimeMs: validFrom,
    sha256: sha(content),
    rev: 1,
    validFrom,
    trashedAt,
    storedAs: `alice/v${ids}`,
  };
}

function plan(input: Partial<RestoreInput>): RestorePlan {
  return planRestore({ path: '', at: AT, live: [], versions: [], unavailable: new Map(), ...input });
}

/** Steps as `action path` strings, for readable expectations. */
function brief(result: RestorePlan): string[] {
  return result.steps.map((step) => `${step.action} ${step.path}`);
}

describe('planRestore', () => {
  it('changes nothing when the tree is as it was', () => {
    const result = plan({ live: [liveDir('d', 10), liveFile('d/a', 'a', 20), liveFile('b', 'b', AT)] });
    expect(result.steps).toEqual([]);
    expect(result.unchanged).toBe(3);
  });

  it('brings back overwritten and deleted files, and the folders they need', () => {
    const old = version('d/a', 'old', 10, 1_500);
    const gone = version('e/f/g', 'gone', 20, 2_000);
    const result = plan({ live: [liveDir('d', 5), liveFile('d/a', 'new', 1_500)], versions: [old, gone] });
    expect(brief(result)).toEqual(['restore d/a', 'mkdir e', 'mkdir e/f', 'restore e/f/g']);
    expect(result.steps[0]).toMatchObject({ version: old, replaces: { path: 'd/a', sha256: sha('new') } });
    expect(result.steps[3]).toMatchObject({ version: gone, replaces: null });
    expect(result.unchanged).toBe(1);
    expect(versionsToRestore(result)).toEqual([old, gone]);
  });

  it('deletes files added after the moment and folders created after it that end up empty', () => {
    const result = plan({
      live: [liveDir('d', 5), liveFile('d/new', 'n', 1_200), liveDir('d/later', 1_100), liveFile('d/later/x', 'x', 1_100), liveDir('d/old', 900)],
    });
    expect(brief(result)).toEqual(['delete d/later', 'delete d/later/x', 'delete d/new']);
    expect(result.unchanged).toBe(2);
  });

  it('undoes a rename: the old name comes back, the new one goes', () => {
    const moved = version('a.txt', 'same', 10, 1_300);
    const result = plan({ live: [liveFile('b.txt', 'same', 1_300)], versions: [moved] });
    expect(brief(result)).toEqual(['restore a.txt', 'delete b.txt']);
  });

  it('counts a version committed exactly at the moment, and not one trashed exactly then', () => {
    const ended = version('a', 'before', 10, AT);
    const result = plan({ live: [liveFile('a', 'at', AT)], versions: [ended] });
    expect(result.steps).toEqual([]);
    expect(result.unchanged).toBe(1);
    expect(brief(plan({ live: [liveFile('a', 'after', AT + 1)], versions: [version('a', 'at', AT, AT + 1)] }))).toEqual(['restore a']);
  });

  it('keeps a file with the old content, whatever its commit time, as unchanged', () => {
    const result = plan({ live: [liveFile('a', 'same', 1_500)], versions: [version('a', 'same', 10, 1_400)] });
    expect(result.steps).toEqual([]);
    expect(result.unchanged).toBe(1);
  });

  it('of two overlapping records the one that became current last wins', () => {
    const early = version('a', 'early', 10, 2_000);
    const late = version('a', 'late', 500, 1_800);
    const result = plan({ versions: [late, early] });
    expect(result.steps).toEqual([{ action: 'restore', path: 'a', version: late, replaces: null }]);
  });

  it('turns a folder back into the file it was, and a file back into the folder it was', () => {
    const file = version('x', 'file', 10, 1_100);
    const inside = version('y/in', 'in', 10, 1_100);
    const result = plan({
      live: [liveDir('x', 1_100), liveFile('x/child', 'c', 1_100), liveFile('y', 'now a file', 1_100)],
      versions: [file, inside],
    });
    expect(brief(result)).toEqual(['restore x', 'delete x/child', 'mkdir y', 'restore y/in']);
    expect(result.steps[0]).toMatchObject({ replaces: { kind: 'dir' } });
    expect(result.steps[2]).toMatchObject({ replaces: { kind: 'file' } });
  });

  it('a version no longer in the trash is reported and what is there now stays', () => {
    const lost = version('d/a', 'lost', 10, 1_500);
    const lostDir = version('x', 'was a file', 10, 1_500);
    const nothingThere = version('far/away/z', 'z', 10, 1_500);
    const unavailable = new Map<string, UnrecoverableReason>([
      [lost.id, 'missing'],
      [lostDir.id, 'damaged'],
      [nothingThere.id, 'missing'],
    ]);
    const result = plan({
      live: [liveDir('d', 5), liveFile('d/a', 'current', 1_500), liveDir('x', 1_500), liveFile('x/kept', 'k', 1_500)],
      versions: [lost, lostDir, nothingThere],
      unavailable,
    });
    expect(result.steps).toEqual([
      { action: 'unrecoverable', path: 'd/a', version: lost, reason: 'missing' },
      { action: 'unrecoverable', path: 'far/away/z', version: nothingThere, reason: 'missing' },
      { action: 'unrecoverable', path: 'x', version: lostDir, reason: 'damaged' },
    ]);
    expect(result.unchanged).toBe(1);
  });

  it('deletes the restored folder itself when it did not exist at the moment', () => {
    expect(brief(plan({ path: 'docs', live: [liveDir('docs', 1_100), liveFile('docs/a', 'a', 1_100)] }))).toEqual([
      'delete docs',
      'delete docs/a',
    ]);
    expect(brief(plan({ path: 'docs', versions: [version('docs/a', 'a', 10, 1_100)] }))).toEqual(['mkdir docs', 'restore docs/a']);
  });

  it('orders steps by UTF-8 bytes', () => {
    const result = plan({ live: [liveFile('\u{1F600}', 'e', 1_100), liveFile('\uFF5E', 'f', 1_100), liveFile('z', 'z', 1_100)] });
    expect(brief(result)).toEqual(['delete z', 'delete \uFF5E', 'delete \u{1F600}']);
  });
});

/**
 * A model of the server's history: writes, deletions and moves of files at increasing
 * times, keeping live entries with commit times and trash records the way storage does,
 * and a snapshot of the tree after every operation.
 */
describe('planRestore against a model history', () => {
  const PATHS = ['a', 'd/b', 'd/c', 'd/e/f', 'g/h'] as const;
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), path: fc.constantFrom(...PATHS), content: fc.constantFrom('1', '2', '3') }),
    fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...PATHS) }),
    fc.record({ kind: fc.constant('move' as const), path: fc.constantFrom(...PATHS), to: fc.constantFrom(...PATHS) }),
  );

  interface Snapshot {
    readonly time: number;
    readonly files: ReadonlyMap<string, string>;
    readonly dirs: ReadonlySet<string>;
  }

  function parents(path: string): string[] {
    const parts = path.split('/');
    return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
  }

  it('applying the plan gives exactly the tree at the moment, inside the folder, and nothing changes outside', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), fc.nat(30), fc.constantFrom('', 'd', 'd/e', 'g/h'), (ops, atStep, root) => {
        const live = new Map<string, CommittedEntry>();
        const versions: TrashRecord[] = [];
        const snapshots: Snapshot[] = [{ time: 0, files: new Map(), dirs: new Set() }];
        const trash = (entry: CommittedEntry, time: number): void => {
          ids += 1;
          const { path, size, mtimeMs, sha256, rev, committedAt } = entry;
          versions.push({ id: `m${ids}`, user: 'alice', path, size, mtimeMs, sha256, rev, validFrom: committedAt, trashedAt: time, storedAs: `alice/m${ids}` });
        };
        const addParents = (path: string, time: number): void => {
          for (const dir of parents(path)) if (!live.has(dir)) live.set(dir, liveDir(dir, time));
        };
        let time = 0;
        for (const o of ops) {
          time += 10;
          const current = live.get(o.path);
          if (o.kind === 'write') {
            if (current !== undefined) trash(current, time);
            addParents(o.path, time);
            live.set(o.path, liveFile(o.path, o.content, time));
          } else if (o.kind === 'delete') {
            if (current === undefined) continue;
            trash(current, time);
            live.delete(o.path);
          } else {
            if (current === undefined || live.has(o.to)) continue;
            trash(current, time);
            live.delete(o.path);
            addParents(o.to, time);
            live.set(o.to, { ...current, path: o.to, committedAt: time });
          }
          const files = new Map([...live.values()].filter((e) => e.kind === 'file').map((e) => [e.path, e.sha256]));
          const dirs = new Set([...live.values()].filter((e) => e.kind === 'dir').map((e) => e.path));
          snapshots.push({ time, files, dirs });
        }
        const at = atStep * 10 + 5;
        const expected = [...snapshots].reverse().find((s) => s.time <= at) ?? snapshots[0];
        const inScope = (path: string): boolean => root === '' || path === root || path.startsWith(`${root}/`);
        const scopedLive = [...live.values()].filter((e) => inScope(e.path));
        const scopedVersions = versions.filter((v) => inScope(v.path) && v.validFrom <= at && at < v.trashedAt);
        const result = planRestore({ path: root, at, live: scopedLive, versions: scopedVersions, unavailable: new Map() });

        // Folders above the restored one are storage's business (it creates those the
        // restored files need), not the plan's: leave them out of the comparison.
        const above = new Set(parents(root));
        const after = new Map([...live.values()].filter((e) => !above.has(e.path)).map((e) => [e.path, e.kind === 'file' ? e.sha256 : 'dir']));
        for (const step of result.steps) {
          expect(inScope(step.path)).toBe(true);
          if (step.action === 'restore') after.set(step.path, step.version.sha256);
          else if (step.action === 'mkdir') after.set(step.path, 'dir');
          else if (step.action === 'delete') after.delete(step.path);
          else throw new Error('nothing is unavailable here');
        }
        const want = new Map<string, string>();
        for (const [path, hash] of expected?.files ?? []) if (inScope(path)) want.set(path, hash);
        for (const dir of expected?.dirs ?? []) if (inScope(dir)) want.set(dir, 'dir');
        for (const [path, value] of live) if (!inScope(path) && !above.has(path)) want.set(path, value.kind === 'file' ? value.sha256 : 'dir');
        expect(Object.fromEntries([...after].sort())).toEqual(Object.fromEntries([...want].sort()));
      }),
      { numRuns: 300 },
    );
  });
});
