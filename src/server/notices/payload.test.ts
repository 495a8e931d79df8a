import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeNotice, encodeNotice } from './payload.js';

describe('notice payload', () => {
  it('decode(encode(x)) is x', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(), fc.array(fc.string()), fc.string(), (user, rev, paths, origin) => {
        const text = encodeNotice({ user, rev, paths, origin });
        expect(text).not.toBeNull();
        expect(decodeNotice(text ?? '')).toEqual({ user, rev, paths, origin });
      }),
    );
  });

  it('fits a byte limit by dropping paths from the end, or gives null', () => {
    const paths = Array.from({ length: 100 }, (_v, i) => `p${i}-\u00e9\u00e9\u00e9`);
    const text = encodeNotice({ user: 'u', rev: 3, paths, origin: 'o' }, 500);
    expect(text).not.toBeNull();
    expect(Buffer.byteLength(text ?? '', 'utf8')).toBeLessThanOrEqual(500);
    const decoded = decodeNotice(text ?? '');
    expect(decoded?.rev).toBe(3);
    expect(decoded?.paths).toEqual(paths.slice(0, decoded?.paths.length));
    expect(encodeNotice({ user: 'u'.repeat(100), rev: 1, paths: [], origin: 'o' }, 50)).toBeNull();
  });

  it('decodes anything else to null', () => {
    for (const text of ['', 'null', '[]', '{}', '{"u":1,"r":1,"p":[],"o":"x"}', '{"u":"a","r":1.5,"p":[],"o":"x"}', '{"u":"a","r":1,"p":[1],"o":"x"}', '{"u":"a","r":1,"p":[]}']) {
      expect(decodeNotice(text)).toBeNull();
    }
  });
});
