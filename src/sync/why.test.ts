import { describe, expect, it } from 'vitest';
import { locatePath } from './why.js';

const DOCS = { local: '/home/ann/Documents', remote: 'Documents', id: 'docs' };
const PHOTOS = { local: '/home/ann/Documents/photos', remote: 'Photos', id: 'photos' };

describe('locatePath', () => {
  it('takes a local path inside a folder, absolute or relative, the innermost folder first', () => {
    expect(locatePath('/home/ann/Documents/a/b.txt', '/', [DOCS])).toEqual({ folder: DOCS, path: 'a/b.txt' });
    expect(locatePath('b.txt', '/home/ann/Documents/a', [DOCS])).toEqual({ folder: DOCS, path: 'a/b.txt' });
    expect(locatePath('/home/ann/Documents/photos/x.jpg', '/', [DOCS, PHOTOS])).toEqual({ folder: PHOTOS, path: 'x.jpg' });
    expect(locatePath('/home/ann/Documents/e\u0301.txt', '/', [DOCS]).path).toBe('\u00e9.txt');
  });

  it('takes a sync path when there is one folder pair', () => {
    expect(locatePath('docs/a.txt', '/elsewhere', [DOCS])).toEqual({ folder: DOCS, path: 'docs/a.txt' });
    expect(locatePath('/docs/a.txt/', '/elsewhere', [DOCS])).toEqual({ folder: DOCS, path: 'docs/a.txt' });
  });

  it('refuses a folder root, a path in no folder among several, and dot segments', () => {
    expect(() => locatePath('/home/ann/Documents', '/', [DOCS])).toThrow(expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }));
    expect(() => locatePath('/home/ann/Documentsx/a', '/', [DOCS, PHOTOS])).toThrow(expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }));
    expect(() => locatePath('a/../b', '/elsewhere', [DOCS])).toThrow(expect.objectContaining({ code: 'FOS_ERR_PATH_BAD' }));
  });
});
