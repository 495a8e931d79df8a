/**
 * reconcile scenarios beyond one path: moves and folder renames, folders with survivors,
 * ordering, conflict copies (naming, no copies of copies, one copy per conflict, cap),
 * NFC/NFD and case collisions, the mass-delete guard, ignores and tombstones.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../protocol/types.js';
import { reconcile } from './reconcile.js';
import {
  createDevice,
  createServer,
  remoteView,
  removeLocalTree,
  renameLocalTree,
  scanDevice,
  syncDevice,
  writeLocal,
} from './simulate.js';
import type { SimDevice, SimServer } from './simulate.js';
import type { LocalState, Op, ReconcileOptions } from './types.js';

const NOW = Date.UTC(2026, 10, 24, 10, 15, 2);
let clock = 10_000;

function content(sha: string): { size: number; sha256: string; mtimeMs: number } {
  clock += 1_000;
  return { size: sha.length, sha256: sha, mtimeMs: clock };
}

/** A server and two devices that all hold `files` (path -> content id), in sync. */
function synced(files: Record<string, string>): { a: SimDevice; b: SimDevice; server: SimServer } {
  const server = createServer();
  const a = createDevice('laptop');
  const b = createDevice('desk');
  for (const [path, sha] of Object.entries(files)) writeLocal(a, path, content(sha));
  syncDevice(a, server, NOW, { force: true });
  syncDevice(b, server, NOW, { force: true });
  return { a, b, server };
}

function plan(device: SimDevice, server: SimServer, options: ReconcileOptions = {}, now = NOW) {
  return reconcile({ base: device.base, local: scanDevice(device), remote: remoteView(server), device: device.name, now, options });
}

function kinds(ops: readonly Op[]): string[] {
  return ops.map((op) => (op.kind === 'moveRemote' || op.kind === 'moveLocal' ? `${op.kind} ${op.from} -> ${op.to}` : `${op.kind} ${op.path}`));
}

function tree(files: Iterable<[string, { kind: string; sha256: string }]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, f] of files) out[path] = f.kind === 'dir' ? '/' : f.sha256;
  return out;
}

describe('moves', () => {
  it('turns a local rename into one moveRemote and the other device into one moveLocal', () => {
    const { a, b, server } = synced({ 'docs/report.pdf': 'r1', 'docs/other.txt': 'o1' });
    renameLocalTree(a, 'docs/report.pdf', 'docs/final.pdf');
    const p = syncDevice(a, server, NOW);
    expect(kinds(p.ops)).toEqual(['moveRemote docs/report.pdf -> docs/final.pdf']);
    expect(p.bytes).toEqual({ upload: 0, download: 0 });
    const q = syncDevice(b, server, NOW);
    expect(kinds(q.ops)).toEqual(['moveLocal docs/report.pdf -> docs/final.pdf']);
    expect(tree(b.files)).toEqual(tree(a.files));
  });

  it('renames a folder of 10,000 files with one MOVE each way (issue 11)', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) files[`photos/${String(i % 100)}/img-${i}.jpg`] = `sha${i}`;
    const { a, b, server } = synced(files);
    renameLocalTree(a, 'photos', 'Pictures 2026');
    const p = syncDevice(a, server, NOW);
    expect(kinds(p.ops)).toEqual(['moveRemote photos -> Pictures 2026']);
    const q = syncDevice(b, server, NOW);
    expect(kinds(q.ops)).toEqual(['moveLocal photos -> Pictures 2026']);
    expect(tree(b.files)).toEqual(tree(a.files));
    expect(plan(a, server).ops).toEqual([]);
    expect(plan(b, server).ops).toEqual([]);
  });

  it('falls back to per-file moves when a renamed folder also changed inside', () => {
    const { a, server } = synced({ 'src/a.ts': 'a1', 'src/b.ts': 'b1' });
    renameLocalTree(a, 'src', 'lib');
    writeLocal(a, 'lib/b.ts', content('b2'));
    const p = syncDevice(a, server, NOW);
    expect(kinds(p.ops)).toEqual([
      'deleteRemote src/b.ts',
      'mkdirRemote lib',
      'moveRemote src/a.ts -> lib/a.ts',
      'deleteRemote src',
      'upload lib/b.ts',
    ]);
    expect(p.ops.every((op) => op.kind !== 'deleteRemote' || op.rule === 'localDeleted')).toBe(true);
  });

  it('moves a folder into a new parent: the parent first, then one MOVE', () => {
    const { a, server } = synced({ 'x/1': 'h1', 'x/2': 'h2' });
    renameLocalTree(a, 'x', 'archive/2026/x');
    const p = syncDevice(a, server, NOW);
    expect(kinds(p.ops)).toEqual(['mkdirRemote archive', 'mkdirRemote archive/2026', 'moveRemote x -> archive/2026/x']);
  });

  it('does not take a changed remote source for a move', () => {
    const { a, b, server } = synced({ 'n.txt': 'n1' });
    writeLocal(b, 'n.txt', content('n2'));
    syncDevice(b, server, NOW);
    renameLocalTree(a, 'n.txt', 'm.txt');
    const p = syncDevice(a, server, NOW);
    expect(kinds(p.ops).sort()).toEqual(['download n.txt', 'upload m.txt']);
    expect(p.ops.find((op) => op.kind === 'download')?.rule).toBe('localDeletedRemoteChanged');
  });
});

describe('folders', () => {
  it('keeps a locally deleted folder when something inside changed on the server', () => {
    const { a, b, server } = synced({ 'd/keep.txt': 'k1', 'd/gone.txt': 'g1', other: 'o1', more: 'm1' });
    writeLocal(b, 'd/keep.txt', content('k2'));
    syncDevice(b, server, NOW);
    removeLocalTree(a, 'd');
    const p = syncDevice(a, server, NOW);
    expect(kinds(p.ops)).toEqual(['deleteRemote d/gone.txt', 'mkdirLocal d', 'download d/keep.txt']);
    expect(p.ops.find((op) => op.kind === 'mkdirLocal')?.rule).toBe('keptForChildren');
    expect(tree(a.files)).toEqual({ d: '/', 'd/keep.txt': 'k2', other: 'o1', more: 'm1' });
  });

  it('recreates a folder on the server when a file was added inside it here', () => {
    const { a, b, server } = synced({ 'd/old.txt': 'o1', other: 'o2', more: 'm1' });
    removeLocalTree(b, 'd');
    syncDevice(b, server, NOW);
    writeLocal(a, 'd/new.txt', content('n1'));
    const p = syncDevice(a, server, NOW);
    expect(kinds(p.ops)).toEqual(['deleteLocal d/old.txt', 'mkdirRemote d', 'upload d/new.txt']);
  });

  it('deletes a tree children first and creates one parents first', () => {
    const { a, b, server } = synced({ 't/u/v/w.txt': 'w1', 't/u/x.txt': 'x1', 'keep1': 'k1', 'keep2': 'k2', 'keep3': 'k3' });
    removeLocalTree(b, 't');
    writeLocal(b, 'n/o/p.txt', content('p1'));
    const p = syncDevice(b, server, NOW);
    expect(kinds(p.ops)).toEqual([
      'deleteRemote t/u/v/w.txt',
      'deleteRemote t/u/x.txt',
      'mkdirRemote n',
      'mkdirRemote n/o',
      'deleteRemote t/u/v',
      'deleteRemote t/u',
      'deleteRemote t',
      'upload n/o/p.txt',
    ]);
    const q = syncDevice(a, server, NOW);
    expect(kinds(q.ops)).toEqual([
      'deleteLocal t/u/v/w.txt',
      'deleteLocal t/u/x.txt',
      'mkdirLocal n',
      'mkdirLocal n/o',
      'deleteLocal t/u/v',
      'deleteLocal t/u',
      'deleteLocal t',
      'download n/o/p.txt',
    ]);
  });

  it('syncs empty folders', () => {
    const { a, b, server } = synced({});
    a.files.set('empty', { kind: 'dir', size: 0, sha256: '', mtimeMs: 0 });
    expect(kinds(syncDevice(a, server, NOW).ops)).toEqual(['mkdirRemote empty']);
    expect(kinds(syncDevice(b, server, NOW).ops)).toEqual(['mkdirLocal empty']);
  });
});

describe('conflicts', () => {
  it('keeps both versions: the server version keeps the name, the local one becomes the copy', () => {
    const { a, b, server } = synced({ 'report.pdf': 'v0' });
    writeLocal(a, 'report.pdf', content('va'));
    writeLocal(b, 'report.pdf', content('vb'));
    syncDevice(a, server, NOW);
    const p = syncDevice(b, server, NOW);
    expect(p.ops).toMatchObject([
      { kind: 'conflict', path: 'report.pdf', copyPath: 'report (conflict from desk 2026-11-24 101502).pdf', loser: 'local', rule: 'bothChanged' },
    ]);
    syncDevice(a, server, NOW);
    const expected = { 'report.pdf': 'va', 'report (conflict from desk 2026-11-24 101502).pdf': 'vb' };
    expect(tree(a.files)).toEqual(expected);
    expect(tree(b.files)).toEqual(expected);
  });

  it('makes a sibling copy of the original name when a conflict copy conflicts again', () => {
    const copy = 'notes (conflict from desk 2026-11-24 101502).txt';
    const { a, b, server } = synced({ [copy]: 'c0' });
    writeLocal(a, copy, content('ca'));
    writeLocal(b, copy, content('cb'));
    syncDevice(a, server, NOW);
    const p = syncDevice(b, server, NOW + 60_000);
    expect(p.ops).toMatchObject([{ kind: 'conflict', copyPath: 'notes (conflict from desk 2026-11-24 101602).txt' }]);
  });

  it('numbers a copy whose name is taken', () => {
    const { a, b, server } = synced({ 'f.txt': 'v0', 'f (conflict from desk 2026-11-24 101502).txt': 'zz' });
    writeLocal(a, 'f.txt', content('va'));
    writeLocal(b, 'f.txt', content('vb'));
    syncDevice(a, server, NOW);
    const p = syncDevice(b, server, NOW);
    expect(p.ops).toMatchObject([{ kind: 'conflict', copyPath: 'f (conflict from desk 2026-11-24 101502 2).txt' }]);
  });

  it('makes one conflict copy when the same conflict arrives from three devices (issue 11)', () => {
    const { a, b, server } = synced({ 'plan.md': 'p0' });
    const c = createDevice('tablet');
    syncDevice(c, server, NOW);
    writeLocal(a, 'plan.md', content('pa'));
    writeLocal(b, 'plan.md', content('px'));
    writeLocal(c, 'plan.md', content('px'));
    syncDevice(a, server, NOW);
    expect(syncDevice(b, server, NOW).summary.conflict).toBe(1);
    const p = syncDevice(c, server, NOW + 5_000);
    expect(p.summary.conflict).toBe(0);
    expect(p.ops).toMatchObject([
      { kind: 'download', path: 'plan (conflict from desk 2026-11-24 101502).md' },
      { kind: 'download', path: 'plan.md', rule: 'conflictAlreadyCopied' },
    ]);
    for (const d of [a, b, c]) syncDevice(d, server, NOW + 9_000);
    const expected = { 'plan.md': 'pa', 'plan (conflict from desk 2026-11-24 101502).md': 'px' };
    for (const d of [a, b, c]) expect(tree(d.files)).toEqual(expected);
  });

  it('keeps one copy when several devices copied the same conflict at once (issue 11)', () => {
    const desk = 'plan (conflict from desk 2026-11-24 101502).md';
    const tablet = 'plan (conflict from tablet 2026-11-24 101503).md';
    const { a, b, server } = synced({ 'plan.md': 'p1', 'notes.md': 'n', [desk]: 'px', [tablet]: 'px' });
    const p = syncDevice(a, server, NOW);
    expect(p.ops).toMatchObject([
      { kind: 'deleteLocal', path: tablet, rule: 'duplicateCopy' },
      { kind: 'deleteRemote', path: tablet, rule: 'duplicateCopy' },
    ]);
    // Two of four files go, half the folder: the guard does not count redundant copies.
    expect(p.guard).toBeNull();
    // The other device follows without a guard either, and keeps the first copy.
    const q = syncDevice(b, server, NOW);
    expect(q.ops).toMatchObject([{ kind: 'deleteLocal', path: tablet, rule: 'duplicateCopy' }]);
    expect(q.guard).toBeNull();
    for (const d of [a, b]) expect(tree(d.files)).toEqual({ 'plan.md': 'p1', 'notes.md': 'n', [desk]: 'px' });
  });

  it('keeps copies that differ, and a copy whose twin changed on one side', () => {
    const desk = 'plan (conflict from desk 2026-11-24 101502).md';
    const tablet = 'plan (conflict from tablet 2026-11-24 101503).md';
    const differ = synced({ 'plan.md': 'p1', [desk]: 'px', [tablet]: 'py' });
    expect(syncDevice(differ.a, differ.server, NOW).ops).toEqual([]);
    const twin = synced({ 'plan.md': 'p1', [desk]: 'px', [tablet]: 'px' });
    writeLocal(twin.a, desk, content('pz'));
    const p = plan(twin.a, twin.server);
    expect(kinds(p.ops)).toEqual([`upload ${desk}`]);
  });

  it('holds a conflict once the file has the maximum number of copies', () => {
    const { a, b, server } = synced({ 'f.txt': 'v0', 'f (conflict from x 2026-01-01 000000).txt': 'c1', 'f (conflict from y 2026-01-01 000000).txt': 'c2' });
    writeLocal(a, 'f.txt', content('va'));
    writeLocal(b, 'f.txt', content('vb'));
    syncDevice(a, server, NOW);
    const p = plan(b, server, { maxConflictCopies: 2 });
    expect(p.ops).toEqual([]);
    expect(p.problems).toEqual([{ code: 'conflictCap', path: 'f.txt', copies: 2 }]);
  });

  it('lets the folder keep the name when a file and a folder meet', () => {
    const { a, b, server } = synced({});
    writeLocal(a, 'x', content('file'));
    writeLocal(b, 'x/inner.txt', content('in'));
    syncDevice(a, server, NOW);
    const p = syncDevice(b, server, NOW);
    expect(p.ops[0]).toMatchObject({ kind: 'conflict', path: 'x', loser: 'remote', copyPath: 'x (conflict from desk 2026-11-24 101502)' });
    // Replacing laptop's only file by a folder deletes 100 % of its files: force past the guard.
    expect(plan(a, server).guard).toMatchObject({ kind: 'massDelete', blocked: true });
    syncDevice(a, server, NOW, { force: true });
    expect(tree(a.files)).toEqual({ x: '/', 'x/inner.txt': 'in', 'x (conflict from desk 2026-11-24 101502)': 'file' });
  });
});

describe('names: NFC/NFD and case', () => {
  const nfc = 'caf\u00e9.txt';
  const nfd = 'cafe\u0301.txt';

  function localState(path: string, sha: string): LocalState {
    return { path, diskPath: path, kind: 'file', size: sha.length, mtimeMs: 5, sha256: sha };
  }
  function remoteEntry(path: string, sha: string, rev: number): Entry {
    return { path, kind: 'file', size: sha.length, mtimeMs: 5, sha256: sha, rev, deleted: false };
  }

  it('matches an NFD name on disk with its NFC record and acts on the disk name', () => {
    const base = new Map([[nfc, { kind: 'file' as const, size: 2, mtimeMs: 5, sha256: 'h1', rev: 1 }]]);
    const local = new Map([[nfd, localState(nfd, 'h1')]]);
    const remote = new Map([[nfc, remoteEntry(nfc, 'h2', 2)]]);
    const p = reconcile({ base, local, remote, device: 'mac', now: NOW, options: { maxDeleteShare: 1 } });
    expect(p.ops).toMatchObject([{ kind: 'download', path: nfc, expectLocal: { path: nfc, diskPath: nfd } }]);
    const same = reconcile({ base, local, remote: new Map([[nfc, remoteEntry(nfc, 'h1', 1)]]), device: 'mac', now: NOW });
    expect(same.ops).toEqual([]);
  });

  it('holds two local names that are one name in NFC; nothing is deleted', () => {
    const base = new Map([[nfc, { kind: 'file' as const, size: 2, mtimeMs: 5, sha256: 'h1', rev: 1 }]]);
    const local = new Map([
      [nfc, localState(nfc, 'h1')],
      [nfd, { ...localState(nfd, 'h9'), path: nfd }],
    ]);
    const p = reconcile({ base, local, remote: new Map(), device: 'linux', now: NOW });
    expect(p.ops).toEqual([]);
    expect(p.problems).toEqual([{ code: 'nameCollision', path: nfc, paths: [nfd, nfc].sort() }]);
    expect(p.guard).toBeNull();
  });

  it('on a case-insensitive folder, refuses to bring a name that differs only by case', () => {
    const { a, server } = synced({ Readme: 'r1' });
    server.entries.set('README', remoteEntry('README', 'R2', 50));
    const p = plan(a, server, { caseInsensitive: true });
    expect(p.ops).toEqual([]);
    expect(p.problems).toEqual([{ code: 'caseCollision', path: 'README', paths: ['README', 'Readme'] }]);
    expect(plan(a, server).ops.map((op) => op.kind)).toEqual(['download']);
  });

  it('turns a case-only rename into a move, not a collision', () => {
    const { a, b, server } = synced({ Readme: 'r1' });
    renameLocalTree(a, 'Readme', 'README');
    const p = syncDevice(a, server, NOW, { caseInsensitive: true });
    expect(kinds(p.ops)).toEqual(['moveRemote Readme -> README']);
    expect(kinds(syncDevice(b, server, NOW, { caseInsensitive: true }).ops)).toEqual(['moveLocal Readme -> README']);
  });

  it('holds two local names that fold to one on a case-insensitive folder', () => {
    const local = new Map([
      ['A.txt', localState('A.txt', 'h1')],
      ['a.txt', localState('a.txt', 'h2')],
    ]);
    const p = reconcile({ base: new Map(), local, remote: new Map(), device: 'd', now: NOW, options: { caseInsensitive: true } });
    expect(p.ops).toEqual([]);
    expect(p.problems).toMatchObject([{ code: 'nameCollision', paths: ['A.txt', 'a.txt'] }]);
  });
});

describe('mass-delete guard', () => {
  const ten: Record<string, string> = {};
  for (let i = 0; i < 10; i++) ten[`f${i}`] = `h${i}`;

  it('holds back deletions of more than the share, keeps the rest of the plan', () => {
    const { a, server } = synced(ten);
    for (let i = 0; i < 6; i++) removeLocalTree(a, `f${i}`);
    writeLocal(a, 'new.txt', content('nn'));
    const p = plan(a, server);
    expect(p.guard).toEqual({ kind: 'massDelete', deletions: 6, total: 10, bytes: 12, blocked: true });
    expect(p.deletions).toBe(6);
    expect(kinds(p.ops)).toEqual(['upload new.txt']);
    // Issue 11: what the guard took out is listed, so the pass can hold it on the server.
    expect(kinds(p.held)).toEqual(['deleteRemote f0', 'deleteRemote f1', 'deleteRemote f2', 'deleteRemote f3', 'deleteRemote f4', 'deleteRemote f5']);
    const forced = plan(a, server, { force: true });
    expect(forced.guard?.blocked).toBe(false);
    expect(forced.summary.deleteRemote).toBe(6);
  });

  it('lets a deletion within the share through', () => {
    const { a, server } = synced(ten);
    for (let i = 0; i < 5; i++) removeLocalTree(a, `f${i}`);
    const p = plan(a, server);
    expect(p.guard).toBeNull();
    expect(p.summary.deleteRemote).toBe(5);
  });

  it('counts deletions coming from the server too', () => {
    const { a, b, server } = synced(ten);
    for (let i = 0; i < 8; i++) removeLocalTree(b, `f${i}`);
    syncDevice(b, server, NOW, { force: true });
    const p = plan(a, server);
    expect(p.guard).toMatchObject({ kind: 'massDelete', deletions: 8, blocked: true });
    expect(p.summary.deleteLocal).toBe(0);
    expect(p.held.map((op) => op.kind)).toEqual(Array(8).fill('deleteLocal'));
  });

  it('trips on the file count and on the bytes, within the share (issue 11)', () => {
    const { a, server } = synced(ten);
    for (let i = 0; i < 3; i++) removeLocalTree(a, `f${i}`);
    expect(plan(a, server).guard).toBeNull();
    expect(plan(a, server, { maxDeleteFiles: 2 }).guard).toMatchObject({ kind: 'massDelete', deletions: 3, blocked: true });
    expect(plan(a, server, { maxDeleteFiles: 3 }).guard).toBeNull();
    expect(plan(a, server, { maxDeleteBytes: 5 }).guard).toMatchObject({ kind: 'massDelete', bytes: 6, blocked: true });
    expect(plan(a, server, { maxDeleteBytes: 6 }).guard).toBeNull();
    expect(plan(a, server, { maxDeleteFiles: 2, force: true }).summary.deleteRemote).toBe(3);
  });

  it('keeps holding deletions a batch waits on, even within the limits (issue 11)', () => {
    const { a, server } = synced(ten);
    for (let i = 0; i < 3; i++) removeLocalTree(a, `f${i}`);
    const input = { base: a.base, local: scanDevice(a), remote: remoteView(server), device: a.name, now: NOW };
    const waiting = new Set(['f0', 'f1']);
    const p = reconcile({ ...input, isPending: (op) => waiting.has(op.path) });
    expect(p.guard).toBeNull();
    expect(kinds(p.ops)).toEqual(['deleteRemote f2']);
    expect(p.held.map((op) => op.path)).toEqual(['f0', 'f1']);
    expect(reconcile({ ...input, isPending: (op) => waiting.has(op.path), options: { force: true } }).summary.deleteRemote).toBe(3);
    // An approval wins: an approved deletion goes ahead even while a batch lists it.
    expect(reconcile({ ...input, isPending: () => true, isExempt: (op) => op.path === 'f0' }).held.map((op) => op.path)).toEqual(['f1', 'f2']);
  });

  it('lets approved deletions through: they neither count nor are held (issue 11)', () => {
    const { a, b, server } = synced(ten);
    for (let i = 0; i < 8; i++) removeLocalTree(b, `f${i}`);
    syncDevice(b, server, NOW, { force: true });
    const input = { base: a.base, local: scanDevice(a), remote: remoteView(server), device: a.name, now: NOW };
    const approved = new Set(['f0', 'f1', 'f2', 'f3', 'f4']);
    const some = reconcile({ ...input, isExempt: (op) => approved.has(op.path) });
    // 3 deletions of 10 are left to judge: within the share, so all 8 go ahead.
    expect(some.guard).toBeNull();
    expect(some.summary.deleteLocal).toBe(8);
    const few = reconcile({ ...input, isExempt: (op) => op.path === 'f0', options: { maxDeleteShare: 0.5 } });
    expect(few.guard).toMatchObject({ kind: 'massDelete', deletions: 7 });
    expect(kinds(few.ops)).toEqual(['deleteLocal f0']);
    expect(few.held.map((op) => op.path)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7']);
  });

  it('stops on an emptied root and on a missing one', () => {
    const { a, server } = synced({ only: 'h1', other: 'h2', third: 'h3', fourth: 'h4', fifth: 'h5' });
    removeLocalTree(a, 'only');
    removeLocalTree(a, 'other');
    removeLocalTree(a, 'third');
    removeLocalTree(a, 'fourth');
    removeLocalTree(a, 'fifth');
    const empty = plan(a, server, { maxDeleteShare: 1 });
    expect(empty.guard).toMatchObject({ kind: 'rootEmpty', blocked: true });
    expect(empty.ops).toEqual([]);
    // The root guards stop the pass; nothing is held for a person to approve.
    expect(empty.held).toEqual([]);
    const missing = reconcile({ base: a.base, local: new Map(), remote: remoteView(server), device: 'd', now: NOW, localRoot: 'missing' });
    expect(missing.guard).toMatchObject({ kind: 'rootMissing', blocked: true });
    expect(missing.ops).toEqual([]);
    const replaced = reconcile({ base: a.base, local: new Map(), remote: remoteView(server), device: 'd', now: NOW, localRoot: 'replaced' });
    expect(replaced.guard?.kind).toBe('rootReplaced');
  });

  it('drops what depends on a held deletion (a folder replacing a file)', () => {
    const { a, server } = synced({ x: 'h1', y: 'h2' });
    removeLocalTree(a, 'x');
    writeLocal(a, 'x/inside.txt', content('in'));
    removeLocalTree(a, 'y');
    const p = plan(a, server, { maxDeleteShare: 0.5 });
    expect(p.guard?.blocked).toBe(true);
    expect(p.ops).toEqual([]);
  });
});

describe('inputs', () => {
  it('leaves ignored paths alone in all three views', () => {
    const { a, server } = synced({ 'keep.txt': 'k1' });
    writeLocal(a, '.DS_Store', content('ds'));
    server.entries.set('Thumbs.db', { path: 'Thumbs.db', kind: 'file', size: 2, mtimeMs: 1, sha256: 'tt', rev: 99, deleted: false });
    const isIgnored = (path: string): boolean => path === '.DS_Store' || path === 'Thumbs.db';
    const p = reconcile({ base: a.base, local: scanDevice(a), remote: remoteView(server), device: 'd', now: NOW, isIgnored });
    expect(p.ops).toEqual([]);
  });

  it('treats tombstones in the remote view as absent', () => {
    const { a, b, server } = synced({ 'gone.txt': 'g1', 'keep1': 'k1', 'keep2': 'k2' });
    removeLocalTree(b, 'gone.txt');
    syncDevice(b, server, NOW);
    const remote = remoteView(server);
    remote.set('gone.txt', { path: 'gone.txt', kind: 'file', size: 2, mtimeMs: 1, sha256: 'g1', rev: 42, deleted: true });
    const p = reconcile({ base: a.base, local: scanDevice(a), remote, device: 'd', now: NOW });
    expect(kinds(p.ops)).toEqual(['deleteLocal gone.txt']);
  });

  it('gives the same plan for the same input (deterministic)', () => {
    const { a, server } = synced({ 'a/1': 'x1', 'b/2': 'x2' });
    writeLocal(a, 'c/3', content('x3'));
    removeLocalTree(a, 'a');
    expect(plan(a, server)).toEqual(plan(a, server));
  });
});
