import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conflictCopyPath, conflictStamp, isConflictCopy, parseConflictCopy, sanitizeDevice } from './conflict-name.js';

const NOW = Date.UTC(2026, 10, 24, 10, 15, 2);

describe('conflict copy names', () => {
  it.each([
    ['report.pdf', 'report (conflict from laptop 2026-11-24 101502).pdf'],
    ['docs/report.pdf', 'docs/report (conflict from laptop 2026-11-24 101502).pdf'],
    ['.bashrc', '.bashrc (conflict from laptop 2026-11-24 101502)'],
    ['Makefile', 'Makefile (conflict from laptop 2026-11-24 101502)'],
    ['archive.tar.gz', 'archive.tar (conflict from laptop 2026-11-24 101502).gz'],
    ['v1.2/notes', 'v1.2/notes (conflict from laptop 2026-11-24 101502)'],
    ['a.b/c.d/e.txt', 'a.b/c.d/e (conflict from laptop 2026-11-24 101502).txt'],
    ['trailing.', 'trailing. (conflict from laptop 2026-11-24 101502)'],
    ['two words.final version', 'two words.final version (conflict from laptop 2026-11-24 101502)'],
    ['photos', 'photos (conflict from laptop 2026-11-24 101502)'],
  ])('%s -> %s', (path, copy) => {
    expect(conflictCopyPath(path, 'laptop', NOW)).toBe(copy);
    expect(parseConflictCopy(copy)).toEqual({ original: path, device: 'laptop', stamp: '2026-11-24 101502', counter: 1 });
  });

  it('numbers further copies with the same stamp', () => {
    const copy = conflictCopyPath('a/report.pdf', 'laptop', NOW, 3);
    expect(copy).toBe('a/report (conflict from laptop 2026-11-24 101502 3).pdf');
    expect(parseConflictCopy(copy)?.counter).toBe(3);
  });

  it('names a copy of a copy after the original: no nested conflict names', () => {
    const first = conflictCopyPath('report.pdf', 'desk', NOW);
    const second = conflictCopyPath(first, 'laptop', NOW + 1_000);
    expect(second).toBe('report (conflict from laptop 2026-11-24 101503).pdf');
  });

  it('keeps device names with spaces, and makes unsafe ones safe', () => {
    expect(parseConflictCopy(conflictCopyPath('x.txt', 'my laptop 2', NOW))?.device).toBe('my laptop 2');
    expect(sanitizeDevice('a/b\\c(d)\u0007')).toBe('a-b-c-d--');
    expect(sanitizeDevice('   ')).toBe('unknown');
  });

  it('renders the stamp in UTC', () => {
    expect(conflictStamp(Date.UTC(2027, 0, 2, 3, 4, 5))).toBe('2027-01-02 030405');
  });

  it('does not take ordinary names for copies', () => {
    expect(isConflictCopy('report (final).pdf')).toBe(false);
    expect(isConflictCopy('report (conflict from laptop).pdf')).toBe(false);
    expect(isConflictCopy(' (conflict from x 2026-11-24 101502)')).toBe(false);
  });

  it('parses back every name it makes', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9 ._-]{1,12}$/).filter((s) => s.trim() === s && s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.stringMatching(/^[a-z0-9 -]{1,10}$/), fc.integer({ min: 0, max: 4e12 }), (segs, device, now) => {
        const path = segs.join('/');
        fc.pre(!isConflictCopy(path));
        const copy = conflictCopyPath(path, device, now);
        expect(parseConflictCopy(copy)?.original).toBe(path);
      }),
    );
  });
});
