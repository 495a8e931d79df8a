import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { GOOD_PATHS, HOSTILE_PATHS } from '../../test/fixtures/hostile-paths.js';
import {
  MAX_PATH_BYTES,
  baseName,
  isCanonicalRemotePath,
  isInside,
  joinRemote,
  normalizeRemotePath,
  parentOf,
} from './remote-path.js';

function refusal(input: string): FosError {
  try {
    normalizeRemotePath(input);
  } catch (err) {
    if (err instanceof FosError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('normalizeRemotePath: hostile corpus', () => {
  it('holds more than 200 distinct hostile paths', () => {
    expect(new Set(HOSTILE_PATHS.map((h) => h.path)).size).toBeGreaterThan(200);
  });

  it.each(HOSTILE_PATHS.map((h) => [h.family, JSON.stringify(h.path).slice(0, 60), h.path] as const))(
    'refuses %s %s',
    (_family, _shown, path) => {
      const err = refusal(path);
      expect(err.code).toBe('FOS_ERR_PATH_BAD');
      expect(err.wireCode).toBe('BAD_PATH');
      expect(err.message).toMatch(/^bad path /u);
    },
  );
});

describe('normalizeRemotePath: good corpus', () => {
  it.each(GOOD_PATHS.map((g) => [JSON.stringify(g.input).slice(0, 60), g] as const))('accepts %s', (_shown, good) => {
    expect(normalizeRemotePath(good.input)).toBe(good.canonical);
    expect(isCanonicalRemotePath(good.canonical)).toBe(true);
  });
});

describe('normalizeRemotePath: reasons', () => {
  const cases: readonly [string, RegExp][] = [
    ['../x', /'\.\.' segments/u],
    ['./x', /'\.' segments/u],
    ['/etc', /absolute/u],
    ['a\\b', /backslash/u],
    ['a\u0000b', /control characters/u],
    ['a//b', /empty segment/u],
    ['C:/x', /drive letter/u],
    ['\uff0e\uff0e', /dots or dot look-alikes/u],
    ['a\u2215b', /look like a slash/u],
    ['x'.repeat(256), /longer than 255 UTF-8 bytes/u],
    ['.fos-tmp-1', /reserved/u],
    ['   ', /only of spaces/u],
    ['\ud800', /unpaired surrogate/u],
  ];
  it.each(cases)('%j says why', (input, reason) => {
    expect(refusal(input).message).toMatch(reason);
  });

  it('never echoes raw control characters in the message', () => {
    expect(refusal('a\u0000\u001b[31mb').message).not.toMatch(/[\u0000-\u001f]/u);
  });

  it('accepts exactly 4096 bytes and refuses 4097', () => {
    const exact = Array.from({ length: 17 }, () => 'a'.repeat(240)).join('/');
    expect(new TextEncoder().encode(exact).length).toBe(MAX_PATH_BYTES);
    expect(normalizeRemotePath(exact)).toBe(exact);
    expect(refusal(`${exact}c`).message).toMatch(/longer than 4096 UTF-8 bytes/u);
  });

  it('measures name length after NFC: 255 bytes of NFD input that compose under the limit pass', () => {
    const nfd = 'e\u0301'.repeat(85); // 255 bytes as NFD, 170 bytes as NFC
    expect(normalizeRemotePath(nfd)).toBe('\u00e9'.repeat(85));
  });
});

describe('path helpers', () => {
  it('joinRemote skips empty parts and normalises', () => {
    expect(joinRemote('', 'a', 'b/c')).toBe('a/b/c');
    expect(joinRemote('cafe\u0301', 'x')).toBe('caf\u00e9/x');
    expect(joinRemote()).toBe('');
    expect(() => joinRemote('a', '..')).toThrow(FosError);
  });

  it('parentOf and baseName', () => {
    expect(parentOf('a/b/c')).toBe('a/b');
    expect(parentOf('a')).toBe('');
    expect(parentOf('')).toBe('');
    expect(baseName('a/b/c.txt')).toBe('c.txt');
    expect(baseName('a')).toBe('a');
    expect(baseName('')).toBe('');
  });

  it('isInside is segment-aware and strict', () => {
    expect(isInside('a', 'a/b')).toBe(true);
    expect(isInside('a', 'a/b/c')).toBe(true);
    expect(isInside('a', 'ab/c')).toBe(false);
    expect(isInside('a', 'a')).toBe(false);
    expect(isInside('a', 'a/')).toBe(false);
    expect(isInside('a/b', 'a')).toBe(false);
    expect(isInside('', 'x')).toBe(true);
    expect(isInside('', '')).toBe(false);
  });
});

describe('normalizeRemotePath: properties', () => {
  const segmentChar = fc.constantFrom('a', 'Z', '0', '.', ' ', '-', '\u00e9', 'e\u0301', '\u{1f600}', '%', ':', '\u2024', '/');
  const arbitraryPath = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.array(segmentChar, { maxLength: 30 }).map((parts) => parts.join('')),
  );

  it('is idempotent and never yields a dot segment, an empty segment or a leading slash', () => {
    fc.assert(
      fc.property(arbitraryPath, (input) => {
        let out: string;
        try {
          out = normalizeRemotePath(input);
        } catch (err) {
          expect(err).toBeInstanceOf(FosError);
          expect((err as FosError).code).toBe('FOS_ERR_PATH_BAD');
          return;
        }
        expect(normalizeRemotePath(out)).toBe(out);
        expect(out).toBe(out.normalize('NFC'));
        if (out !== '') {
          const segments = out.split('/');
          expect(segments).not.toContain('..');
          expect(segments).not.toContain('.');
          expect(segments).not.toContain('');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a joined child is inside its parent and names it as parent', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9 _-]{1,12}$/u).filter((s) => s.trim() !== '');
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 6 }), (names) => {
        const path = joinRemote(...names);
        const parent = parentOf(path);
        expect(isInside(parent, path)).toBe(true);
        expect(joinRemote(parent, baseName(path))).toBe(path);
      }),
    );
  });
});
