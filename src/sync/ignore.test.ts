import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIgnoreMatcher, loadIgnoreMatcher } from './ignore.js';

describe('ignore rules', () => {
  const m = createIgnoreMatcher();

  it.each([
    ['.DS_Store', false],
    ['photos/.DS_Store', false],
    ['Thumbs.db', false],
    ['sub/desktop.ini', false],
    ['notes.txt.swp', false],
    ['.notes.txt.swx', false],
    ['draft.txt~', false],
    ['~$report.docx', false],
    ['docs/.~lock.report.odt#', false],
    ['video.mp4.part', false],
    ['.fos-tmp-1234-report.pdf', false],
    ['deep/er/.fos-tmp-x', false],
    ['.fos', true],
    ['.fos/folder-id', false],
  ])('ignores %s by default', (path, isDir) => {
    expect(m.isIgnored(path, isDir)).toBe(true);
  });

  it.each([
    ['report.pdf', false],
    ['.fosignore', false],
    ['photos', true],
    ['tilde~in/the/middle.txt', false],
    ['partial.parts', false],
    ['.fos', false],
    ['my.fos/x', false],
    ['', true],
  ])('keeps %s', (path, isDir) => {
    expect(m.isIgnored(path, isDir)).toBe(false);
  });

  it('applies config patterns and .fosignore in gitignore syntax, .fosignore last', () => {
    const rules = createIgnoreMatcher({ patterns: ['*.log', 'build/'], fosignore: '# comment\n/cache\n!keep.log\nnode_modules\n' });
    expect(rules.isIgnored('app.log', false)).toBe(true);
    expect(rules.isIgnored('keep.log', false)).toBe(false);
    expect(rules.isIgnored('build', true)).toBe(true);
    expect(rules.isIgnored('build/out.js', false)).toBe(true);
    expect(rules.isIgnored('build', false)).toBe(false);
    expect(rules.isIgnored('cache', true)).toBe(true);
    expect(rules.isIgnored('sub/cache', true)).toBe(false);
    expect(rules.isIgnored('a/b/node_modules/x.js', false)).toBe(true);
  });

  it('lets .fosignore re-include a default but never fos own files', () => {
    const rules = createIgnoreMatcher({ fosignore: '!*.swp\n!.fos-tmp-*\n!.fos/\n' });
    expect(rules.isIgnored('x.swp', false)).toBe(false);
    expect(rules.isIgnored('.fos-tmp-1', false)).toBe(true);
    expect(rules.isIgnored('.fos', true)).toBe(true);
  });

  it('matches case-insensitively only when asked', () => {
    expect(createIgnoreMatcher().isIgnored('THUMBS.DB', false)).toBe(false);
    expect(createIgnoreMatcher({ caseInsensitive: true }).isIgnored('THUMBS.DB', false)).toBe(true);
  });

  it('can leave the defaults out', () => {
    expect(createIgnoreMatcher({ noDefaults: true }).isIgnored('.DS_Store', false)).toBe(false);
    expect(createIgnoreMatcher({ noDefaults: true }).isIgnored('.fos-tmp-9', false)).toBe(true);
  });
});

describe('loadIgnoreMatcher', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('reads .fosignore from the folder root, and works without one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fos-ignore-'));
    dirs.push(root);
    expect((await loadIgnoreMatcher(root)).isIgnored('secret.key', false)).toBe(false);
    await writeFile(join(root, '.fosignore'), '*.key\n');
    expect((await loadIgnoreMatcher(root, { patterns: ['*.tmp'] })).isIgnored('secret.key', false)).toBe(true);
    expect((await loadIgnoreMatcher(root, { patterns: ['*.tmp'] })).isIgnored('x.tmp', false)).toBe(true);
  });

  it('reports a .fosignore that cannot be read', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fos-ignore-'));
    dirs.push(root);
    await mkdir(join(root, '.fosignore'));
    await expect(loadIgnoreMatcher(root)).rejects.toMatchObject({ code: 'FOS_ERR_SYNC_LOCAL_IO' });
  });

  it('names the rule that ignores a path and where it comes from (fos status --why)', () => {
    const matcher = createIgnoreMatcher({ patterns: ['*.tmp'], fosignore: '# build output\nbuild/\n!keep.swp\n' });
    expect(matcher.explain('.fos/folder-id', false)).toEqual({ pattern: '.fos/', source: 'fos' });
    expect(matcher.explain('notes.swp', false)).toEqual({ pattern: '*.swp', source: 'default' });
    expect(matcher.explain('a/b.tmp', false)).toEqual({ pattern: '*.tmp', source: 'config' });
    expect(matcher.explain('build/out/x.o', false)).toEqual({ pattern: 'build/', source: '.fosignore' });
    expect(matcher.explain('build', true)).toEqual({ pattern: 'build/', source: '.fosignore' });
    expect(matcher.explain('keep.swp', false)).toBeNull();
    expect(matcher.explain('notes.txt', false)).toBeNull();
    expect(matcher.isIgnored('keep.swp', false)).toBe(false);
    expect(matcher.isIgnored('build/out/x.o', false)).toBe(true);
  });
});
