/**
 * Every (base, local, remote) combination of one path over {absent, base version, version A,
 * version B, folder}, carried out in the simulator: the operations chosen, the tree both
 * sides end with, the conflict copy, and that a second pass finds nothing to do.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../protocol/types.js';
import { reconcile } from './reconcile.js';
import { createDevice, createServer, remoteView, scanDevice, syncDevice } from './simulate.js';
import type { SimDevice, SimServer } from './simulate.js';

const NOW = Date.UTC(2026, 10, 24, 10, 15, 2);
const PATH = 'docs/report.pdf';
const COPY = 'docs/report (conflict from laptop 2026-11-24 101502).pdf';

type Version = '-' | '0' | 'A' | 'B' | 'D';

const FILES = {
  '0': { size: 10, sha256: 'aa00', mtimeMs: 1_000 },
  A: { size: 11, sha256: 'aa0a', mtimeMs: 2_000 },
  B: { size: 12, sha256: 'aa0b', mtimeMs: 3_000 },
} as const;

function entry(version: Exclude<Version, '-'>, rev: number): Entry {
  return version === 'D'
    ? { path: PATH, kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev, deleted: false }
    : { path: PATH, kind: 'file', ...FILES[version], rev, deleted: false };
}

function setup(b: Version, l: Version, r: Version): { device: SimDevice; server: SimServer } {
  const server = createServer();
  const device = createDevice('laptop');
  const dirEntry: Entry = { path: 'docs', kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev: 1, deleted: false };
  server.entries.set('docs', dirEntry);
  device.files.set('docs', { kind: 'dir', size: 0, sha256: '', mtimeMs: 0 });
  device.base.set('docs', { kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev: 1 });
  // Two files in sync beside the path, so that deleting it is not a mass deletion.
  for (const [i, name] of ['keep1', 'keep2'].entries()) {
    const kept = { kind: 'file', size: 1, mtimeMs: 1, sha256: `bb0${i}` } as const;
    server.entries.set(name, { path: name, ...kept, rev: 1, deleted: false });
    device.files.set(name, kept);
    device.base.set(name, { ...kept, rev: 1 });
  }
  server.rev = 5;
  if (b !== '-') {
    const e = entry(b, 2);
    device.base.set(PATH, { kind: e.kind, size: e.size, mtimeMs: e.mtimeMs, sha256: e.sha256, rev: 2 });
  }
  if (r !== '-') server.entries.set(PATH, entry(r, r === b ? 2 : 3));
  if (l !== '-') {
    device.files.set(PATH, l === 'D' ? { kind: 'dir', size: 0, sha256: '', mtimeMs: 0 } : { kind: 'file', ...FILES[l] });
  }
  return { device, server };
}

/** What a tree holds, as version letters by path. */
function labels(files: Iterable<[string, { kind: string; sha256: string }]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, f] of files) {
    if (path === 'docs' || path.startsWith('keep')) continue;
    const found = Object.entries(FILES).find(([, v]) => v.sha256 === f.sha256);
    out[path] = f.kind === 'dir' ? 'D' : (found?.[0] ?? '?');
  }
  return out;
}

// [base, local, remote, operations in plan order, version at PATH afterwards, version in the copy]
const TABLE: readonly [Version, Version, Version, string, Version, Version][] = [
  ['-', '-', '-', '', '-', '-'],
  ['-', '-', '0', 'download', '0', '-'],
  ['-', '-', 'A', 'download', 'A', '-'],
  ['-', '-', 'B', 'download', 'B', '-'],
  ['-', '-', 'D', 'mkdirLocal', 'D', '-'],
  ['-', '0', '-', 'upload', '0', '-'],
  ['-', '0', '0', 'updateBase', '0', '-'],
  ['-', '0', 'A', 'conflict', 'A', '0'],
  ['-', '0', 'B', 'conflict', 'B', '0'],
  ['-', '0', 'D', 'conflict', 'D', '0'],
  ['-', 'A', '-', 'upload', 'A', '-'],
  ['-', 'A', '0', 'conflict', '0', 'A'],
  ['-', 'A', 'A', 'updateBase', 'A', '-'],
  ['-', 'A', 'B', 'conflict', 'B', 'A'],
  ['-', 'A', 'D', 'conflict', 'D', 'A'],
  ['-', 'B', '-', 'upload', 'B', '-'],
  ['-', 'B', '0', 'conflict', '0', 'B'],
  ['-', 'B', 'A', 'conflict', 'A', 'B'],
  ['-', 'B', 'B', 'updateBase', 'B', '-'],
  ['-', 'B', 'D', 'conflict', 'D', 'B'],
  ['-', 'D', '-', 'mkdirRemote', 'D', '-'],
  ['-', 'D', '0', 'conflict', 'D', '0'],
  ['-', 'D', 'A', 'conflict', 'D', 'A'],
  ['-', 'D', 'B', 'conflict', 'D', 'B'],
  ['-', 'D', 'D', 'updateBase', 'D', '-'],

  ['0', '-', '-', 'dropBase', '-', '-'],
  ['0', '-', '0', 'deleteRemote', '-', '-'],
  ['0', '-', 'A', 'download', 'A', '-'],
  ['0', '-', 'B', 'download', 'B', '-'],
  ['0', '-', 'D', 'mkdirLocal', 'D', '-'],
  ['0', '0', '-', 'deleteLocal', '-', '-'],
  ['0', '0', '0', '', '0', '-'],
  ['0', '0', 'A', 'download', 'A', '-'],
  ['0', '0', 'B', 'download', 'B', '-'],
  ['0', '0', 'D', 'deleteLocal mkdirLocal', 'D', '-'],
  ['0', 'A', '-', 'upload', 'A', '-'],
  ['0', 'A', '0', 'upload', 'A', '-'],
  ['0', 'A', 'A', 'updateBase', 'A', '-'],
  ['0', 'A', 'B', 'conflict', 'B', 'A'],
  ['0', 'A', 'D', 'conflict', 'D', 'A'],
  ['0', 'B', '-', 'upload', 'B', '-'],
  ['0', 'B', '0', 'upload', 'B', '-'],
  ['0', 'B', 'A', 'conflict', 'A', 'B'],
  ['0', 'B', 'B', 'updateBase', 'B', '-'],
  ['0', 'B', 'D', 'conflict', 'D', 'B'],
  ['0', 'D', '-', 'mkdirRemote', 'D', '-'],
  ['0', 'D', '0', 'deleteRemote mkdirRemote', 'D', '-'],
  ['0', 'D', 'A', 'conflict', 'D', 'A'],
  ['0', 'D', 'B', 'conflict', 'D', 'B'],
  ['0', 'D', 'D', 'updateBase', 'D', '-'],

  ['D', '-', '-', 'dropBase', '-', '-'],
  ['D', '-', '0', 'download', '0', '-'],
  ['D', '-', 'A', 'download', 'A', '-'],
  ['D', '-', 'B', 'download', 'B', '-'],
  ['D', '-', 'D', 'deleteRemote', '-', '-'],
  ['D', '0', '-', 'upload', '0', '-'],
  ['D', '0', '0', 'updateBase', '0', '-'],
  ['D', '0', 'A', 'conflict', 'A', '0'],
  ['D', '0', 'B', 'conflict', 'B', '0'],
  ['D', '0', 'D', 'deleteRemote upload', '0', '-'],
  ['D', 'A', '-', 'upload', 'A', '-'],
  ['D', 'A', '0', 'conflict', '0', 'A'],
  ['D', 'A', 'A', 'updateBase', 'A', '-'],
  ['D', 'A', 'B', 'conflict', 'B', 'A'],
  ['D', 'A', 'D', 'deleteRemote upload', 'A', '-'],
  ['D', 'B', '-', 'upload', 'B', '-'],
  ['D', 'B', '0', 'conflict', '0', 'B'],
  ['D', 'B', 'A', 'conflict', 'A', 'B'],
  ['D', 'B', 'B', 'updateBase', 'B', '-'],
  ['D', 'B', 'D', 'deleteRemote upload', 'B', '-'],
  ['D', 'D', '-', 'deleteLocal', '-', '-'],
  ['D', 'D', '0', 'deleteLocal download', '0', '-'],
  ['D', 'D', 'A', 'deleteLocal download', 'A', '-'],
  ['D', 'D', 'B', 'deleteLocal download', 'B', '-'],
  ['D', 'D', 'D', '', 'D', '-'],
];

describe('reconcile: every combination of one path', () => {
  it('covers all 75 combinations exactly once', () => {
    const keys = new Set(TABLE.map(([b, l, r]) => `${b}${l}${r}`));
    expect(keys.size).toBe(75);
  });

  it.each(TABLE)('base %s, local %s, remote %s -> [%s], ends %s (copy %s)', (b, l, r, ops, at, copy) => {
    const { device, server } = setup(b, l, r);
    const plan = syncDevice(device, server, NOW);
    expect(plan.ops.map((op) => op.kind).join(' ')).toBe(ops);
    expect(plan.guard).toBeNull();
    expect(plan.problems).toEqual([]);

    const expected: Record<string, string> = {};
    if (at !== '-') expected[PATH] = at;
    if (copy !== '-') expected[COPY] = copy;
    expect(labels(device.files)).toEqual(expected);
    expect(labels(server.entries)).toEqual(expected);

    const again = reconcile({ base: device.base, local: scanDevice(device), remote: remoteView(server), device: 'laptop', now: NOW });
    expect(again.ops).toEqual([]);
  });

  it('records a new mtime of unchanged content without a transfer', () => {
    const { device, server } = setup('0', '0', '0');
    device.files.set(PATH, { kind: 'file', ...FILES['0'], mtimeMs: 9_999 });
    const plan = syncDevice(device, server, NOW);
    expect(plan.ops).toEqual([
      { kind: 'updateBase', path: PATH, state: { kind: 'file', size: 10, sha256: 'aa00', mtimeMs: 9_999, rev: 2 }, rule: 'metadataOnly' },
    ]);
  });

  it('records a new server revision of unchanged content without a transfer', () => {
    const { device, server } = setup('0', '0', '0');
    server.entries.set(PATH, entry('0', 4));
    const plan = syncDevice(device, server, NOW);
    expect(plan.ops.map((op) => [op.kind, op.rule])).toEqual([['updateBase', 'metadataOnly']]);
  });

  it('uploads against the current server revision when only the revision moved', () => {
    const { device, server } = setup('0', 'A', '0');
    server.entries.set(PATH, entry('0', 4));
    const plan = syncDevice(device, server, NOW);
    expect(plan.ops).toMatchObject([{ kind: 'upload', baseRev: 4, rule: 'localChanged' }]);
  });

  it('names the rule behind each decision', () => {
    const rules = (b: Version, l: Version, r: Version): string[] => {
      const { device, server } = setup(b, l, r);
      return syncDevice(device, server, NOW).ops.map((op) => op.rule);
    };
    expect(rules('0', '-', 'A')).toEqual(['localDeletedRemoteChanged']);
    expect(rules('0', 'A', '-')).toEqual(['remoteDeletedLocalChanged']);
    expect(rules('0', 'A', 'B')).toEqual(['bothChanged']);
    expect(rules('-', 'A', 'B')).toEqual(['bothNew']);
    expect(rules('-', 'A', 'D')).toEqual(['kindMismatch']);
    expect(rules('0', 'A', 'A')).toEqual(['sameContent']);
    expect(rules('0', '-', '-')).toEqual(['bothDeleted']);
  });
});
