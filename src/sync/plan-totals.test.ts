import { describe, expect, it } from 'vitest';
import type { Entry } from '../protocol/types.js';
import { countOps } from './order.js';
import { describeOp, overLimit, planTotals, remainingLimits } from './plan-totals.js';
import type { LocalState, Op } from './types.js';

const local = (path: string, size: number): LocalState => ({ path, diskPath: path, kind: 'file', size, mtimeMs: 1, sha256: 'a'.repeat(64) });
const entry = (path: string, size: number): Entry => ({ path, kind: 'file', size, mtimeMs: 1, sha256: 'b'.repeat(64), rev: 3, deleted: false });

const OPS: Op[] = [
  { kind: 'upload', path: 'up.txt', baseRev: null, local: local('up.txt', 100), rule: 'localNew' },
  { kind: 'download', path: 'down.txt', entry: entry('down.txt', 40), expectLocal: null, rule: 'remoteNew' },
  { kind: 'conflict', path: 'c.txt', copyPath: 'c (conflict).txt', loser: 'local', local: local('c.txt', 5), remote: entry('c.txt', 7), rule: 'bothChanged' },
  { kind: 'deleteRemote', path: 'gone', entryKind: 'dir', baseRev: 2, rule: 'localDeleted' },
  { kind: 'deleteLocal', path: 'old.txt', expect: local('old.txt', 1), rule: 'remoteDeleted' },
  { kind: 'moveRemote', from: 'a.txt', to: 'b.txt', entryKind: 'file', baseRev: 1, local: local('b.txt', 1), rule: 'localMoved' },
  { kind: 'updateBase', path: 'same.txt', state: { kind: 'file', size: 1, mtimeMs: 1, sha256: 'a'.repeat(64), rev: 4 }, rule: 'sameContent' },
  { kind: 'dropBase', path: 'both-gone.txt', rule: 'bothDeleted' },
];

describe('plan totals', () => {
  it('describes each operation with its target and the bytes it moves', () => {
    expect(OPS.map(describeOp)).toEqual([
      { kind: 'upload', path: 'up.txt', rule: 'localNew', bytes: 100 },
      { kind: 'download', path: 'down.txt', rule: 'remoteNew', bytes: 40 },
      { kind: 'conflict', path: 'c.txt', to: 'c (conflict).txt', rule: 'bothChanged', bytes: 12 },
      { kind: 'deleteRemote', path: 'gone', rule: 'localDeleted', entryKind: 'dir' },
      { kind: 'deleteLocal', path: 'old.txt', rule: 'remoteDeleted', entryKind: 'file' },
      { kind: 'moveRemote', path: 'a.txt', to: 'b.txt', rule: 'localMoved', entryKind: 'file' },
      { kind: 'updateBase', path: 'same.txt', rule: 'sameContent' },
      { kind: 'dropBase', path: 'both-gone.txt', rule: 'bothDeleted' },
    ]);
  });

  it('counts operations without the manifest-only kinds, bytes each way and deletions of both sides', () => {
    expect(planTotals(OPS)).toEqual({ operations: 6, byKind: countOps(OPS), bytesUp: 105, bytesDown: 47, deletions: 2 });
  });

  it('stops at the first limit gone over, operations first', () => {
    const totals = planTotals(OPS);
    expect(overLimit(totals, {})).toBeNull();
    expect(overLimit(totals, { maxOps: 6, maxBytes: 152 })).toBeNull();
    expect(overLimit(totals, { maxOps: 5, maxBytes: 1 })).toEqual({ kind: 'maxOps', limit: 5, planned: 6 });
    expect(overLimit(totals, { maxBytes: 151 })).toEqual({ kind: 'maxBytes', limit: 151, planned: 152 });
  });

  it('leaves a later pass what the earlier one did not use', () => {
    const done = { done: countOps(OPS), executed: [], conflicts: [], skipped: [], failed: [], bytesUploaded: 105, bytesDownloaded: 47, offline: false };
    expect(remainingLimits({ maxOps: 10, maxBytes: 200 }, done)).toEqual({ maxOps: 4, maxBytes: 48 });
    expect(remainingLimits({ maxOps: 2 }, done)).toEqual({ maxOps: 0 });
    expect(remainingLimits({}, done)).toEqual({});
  });
});
