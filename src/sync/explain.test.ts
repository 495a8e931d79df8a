import { describe, expect, it } from 'vitest';
import { describeDecision, explainPath, problemHolds, RULE_TEXT, touchesPath } from './explain.js';
import type { PathFacts } from './explain.js';

const BASE = { kind: 'file', size: 1, mtimeMs: 1, sha256: 'a'.repeat(64), rev: 7 } as const;
const NOTHING: PathFacts = {
  path: 'a.txt',
  ignored: null,
  scanSkip: null,
  error: null,
  unreachable: null,
  pending: null,
  settleAt: null,
  problems: [],
  guard: null,
  heldByGuard: [],
  heldBatch: null,
  next: [],
  localExists: false,
  base: null,
  remote: null,
  maxConflictCopies: 10,
};
const UPLOAD = { kind: 'upload', path: 'a.txt', rule: 'localChanged', bytes: 1 } as const;
const ERROR = { path: 'a.txt', op: 'upload', code: 'FOS_ERR_STORE_QUOTA', message: 'quota', attempts: 2, lastAt: 1, nextRetryAt: 2 } as const;

describe('explainPath', () => {
  it('weighs the rules in order: the first that applies decides', () => {
    const all: PathFacts = {
      ...NOTHING,
      ignored: { pattern: '*.txt', source: 'config' },
      scanSkip: 'cannot read',
      error: ERROR,
      unreachable: 'connection refused',
      problems: [{ code: 'conflictCap', path: 'a.txt', copies: 10 }],
      guard: { kind: 'massDelete', deletions: 3, total: 4, bytes: 3, blocked: true, message: 'm' },
      heldByGuard: [{ kind: 'deleteRemote', path: 'a.txt', rule: 'localDeleted' }],
      heldBatch: { id: 'B7X2K9QM', side: 'remote' },
      settleAt: 5,
      next: [UPLOAD],
      localExists: true,
      base: BASE,
    };
    const order = ['ignored', 'unreadable', 'error', 'offline', 'conflictCap', 'heldDeletion', 'guard', 'pending', 'planned', 'inSync'];
    let facts: PathFacts = all;
    for (const rule of order) {
      const decision = explainPath(facts);
      expect(decision.rule).toBe(rule);
      switch (decision.rule) {
        case 'ignored':
          facts = { ...facts, ignored: null };
          break;
        case 'unreadable':
          facts = { ...facts, scanSkip: null };
          break;
        case 'error':
          facts = { ...facts, error: null };
          break;
        case 'offline':
          facts = { ...facts, unreachable: null };
          break;
        case 'conflictCap':
          facts = { ...facts, problems: [] };
          break;
        case 'heldDeletion':
          facts = { ...facts, heldBatch: null };
          break;
        case 'guard':
          facts = { ...facts, guard: null };
          break;
        case 'pending':
          facts = { ...facts, settleAt: null };
          break;
        case 'planned':
          facts = { ...facts, next: [] };
          break;
        default:
          break;
      }
    }
    expect(explainPath(NOTHING)).toEqual({ rule: 'unknown' });
  });

  it('lets a guard decide only a path it holds back, unless the whole folder is missing', () => {
    const guard = { kind: 'massDelete', deletions: 3, total: 4, bytes: 3, blocked: true, message: 'm' } as const;
    expect(explainPath({ ...NOTHING, guard, localExists: true, base: BASE }).rule).toBe('inSync');
    expect(explainPath({ ...NOTHING, guard: { ...guard, kind: 'rootMissing' } }).rule).toBe('guard');
    // A missing folder is known without the server; a held deletion is not.
    expect(explainPath({ ...NOTHING, guard: { ...guard, kind: 'rootMissing' }, unreachable: 'refused' }).rule).toBe('guard');
    expect(explainPath({ ...NOTHING, guard, heldByGuard: [UPLOAD], unreachable: 'refused' }).rule).toBe('offline');
    expect(explainPath({ ...NOTHING, guard: { ...guard, blocked: false }, heldByGuard: [UPLOAD] }).rule).toBe('unknown');
  });

  it("uses the agent's skip only while the path still has work, and a fresh settle time over a stale one", () => {
    const skip = { path: 'a.txt', kind: 'upload', reason: 'changedLocally' } as const;
    expect(explainPath({ ...NOTHING, pending: skip, next: [UPLOAD] })).toEqual({ rule: 'pending', reason: 'changedLocally', settleAt: null });
    expect(explainPath({ ...NOTHING, pending: skip, localExists: true, base: BASE }).rule).toBe('inSync');
    expect(explainPath({ ...NOTHING, pending: { ...skip, reason: 'settling' }, next: [UPLOAD] }).rule).toBe('planned');
  });

  it('names a conflict by its copy', () => {
    const conflict = { kind: 'conflict', path: 'a.txt', to: 'a (conflict from d 2026-01-01 000000).txt', rule: 'bothChanged', bytes: 2 } as const;
    const decision = explainPath({ ...NOTHING, next: [conflict] });
    expect(decision).toEqual({ rule: 'conflict', because: 'bothChanged', copyPath: conflict.to });
    expect(describeDecision(decision)).toContain(RULE_TEXT.bothChanged);
  });
});

describe('touchesPath and problemHolds', () => {
  it('counts ops at the path, into it, and on a folder moved or removed above it', () => {
    expect(touchesPath({ kind: 'upload', path: 'a/b.txt', rule: 'localNew' }, 'a/b.txt')).toBe(true);
    expect(touchesPath({ kind: 'moveRemote', path: 'x.txt', to: 'a/b.txt', rule: 'localMoved', entryKind: 'file' }, 'a/b.txt')).toBe(true);
    expect(touchesPath({ kind: 'moveLocal', path: 'a', to: 'z', rule: 'remoteMoved', entryKind: 'dir' }, 'a/b.txt')).toBe(true);
    expect(touchesPath({ kind: 'moveLocal', path: 'z', to: 'a', rule: 'remoteMoved', entryKind: 'dir' }, 'a/b.txt')).toBe(true);
    expect(touchesPath({ kind: 'deleteLocal', path: 'a', rule: 'remoteDeleted', entryKind: 'dir' }, 'a/b.txt')).toBe(true);
    expect(touchesPath({ kind: 'mkdirRemote', path: 'a', rule: 'localNew' }, 'a/b.txt')).toBe(false);
    expect(touchesPath({ kind: 'upload', path: 'a/b.txt.bak', rule: 'localNew' }, 'a/b.txt')).toBe(false);
  });

  it('holds a path named by a problem, or under a folder it names', () => {
    expect(problemHolds({ code: 'caseCollision', path: 'A', paths: ['A', 'a'] }, 'a/x.txt')).toBe(true);
    expect(problemHolds({ code: 'nameCollision', path: '\u00e9', paths: ['e\u0301', '\u00e9'] }, '\u00e9')).toBe(true);
    expect(problemHolds({ code: 'conflictCap', path: 'p.txt', copies: 3 }, 'q.txt')).toBe(false);
  });
});
