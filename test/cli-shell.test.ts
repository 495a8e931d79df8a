/**
 * Issue 4, "Done when" 6: `fos shell` driven through stdin runs a session with every
 * command word (the seed's words in any case, and the short forms), reports errors and
 * goes on.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRemote, splitWords } from '../src/cli/shell-words.js';
import { parseJson, startCliFixture } from './cli-support.js';
import type { CliFixture } from './cli-support.js';

let fx: CliFixture;

beforeAll(async () => {
  fx = await startCliFixture();
});

afterAll(async () => {
  await fx.dispose();
});

describe('shell words', () => {
  it('splits quotes and escapes like a shell, and resolves paths against the folder', () => {
    expect(splitWords(`put "my file.txt"  'a b' c\\ d  plain`)).toEqual(['put', 'my file.txt', 'a b', 'c d', 'plain']);
    expect(splitWords('   ')).toEqual([]);
    expect(() => splitWords('get "open')).toThrow(/unclosed/);
    expect(resolveRemote('docs/a', '../b/./c')).toBe('docs/b/c');
    expect(resolveRemote('docs', '/top')).toBe('top');
    expect(resolveRemote('docs', '../../..')).toBe('');
    expect(() => resolveRemote('', 'a\\b')).toThrow(/backslash/);
  });
});

describe('fos shell', () => {
  it('runs a scripted session with every command word', async () => {
    const local = join(fx.dir, 'local');
    await mkdir(join(local, 'pics'), { recursive: true });
    await writeFile(join(local, 'hello.txt'), 'hello from the shell\n');
    await writeFile(join(local, 'pics', 'one.jpg'), 'not really a jpeg');
    const back = join(fx.dir, 'back');
    const script = [
      'help',
      'pwd',
      `UPLOAD ${join(local, 'hello.txt')} docs`,
      'cd docs',
      'pwd',
      'LIST',
      'PREVIEW hello.txt 5',
      `DOWNLOAD hello.txt ${back}`,
      'mv hello.txt renamed.txt',
      'ls -l',
      `put -r ${join(local, 'pics')}`,
      'ls pics',
      `get -r pics ${back}`,
      'get missing.txt',
      'frobnicate',
      'rm renamed.txt',
      'DELETE -r pics',
      'list',
      'cd ..',
      'Move docs papers',
      'ls',
      'quit',
      'ls this-line-is-never-read',
    ].join('\n');
    const result = await fx.fos(['shell'], { input: `${script}\n` });
    const out = result.stdout;
    expect(out).toContain('LIST | ls');
    expect(out).toMatch(/^\/\n(?:.*\n)?\/docs\n/m);
    expect(out).toContain('uploaded docs/hello.txt');
    expect(out).toContain('hello.txt\nhello');
    expect(out).toContain(`downloaded ${join(back, 'hello.txt')}`);
    expect(out).toContain('moved docs/hello.txt -> docs/renamed.txt');
    expect(out).toMatch(/- +21 +\d{4}-\d\d-\d\d \d\d:\d\d +r\d+ +renamed\.txt/);
    expect(out).toContain('uploaded docs/pics/one.jpg');
    expect(out).toContain('one.jpg\n');
    expect(out).toContain(`downloaded ${join(back, 'pics', 'one.jpg')}`);
    expect(out).toContain('deleted docs/renamed.txt');
    expect(out).toContain('deleted docs/pics');
    expect(out).toContain('(empty)');
    expect(out).toContain('moved docs -> papers');
    expect(out).toMatch(/papers\/\n$/);
    expect(out).not.toContain('this-line-is-never-read');

    expect(result.stderr).toContain('(FOS_ERR_PATH_NOT_FOUND)');
    expect(result.stderr).toContain('unknown command "frobnicate"');
    // The session went on after the errors; the exit code is the first failure's.
    expect(result.code).toBe(4);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(/^fos: 2 of \d+ shell commands failed \(FOS_ERR_PATH_NOT_FOUND\)$/);

    expect(await readFile(join(back, 'hello.txt'), 'utf8')).toBe('hello from the shell\n');
    expect(await readFile(join(back, 'pics', 'one.jpg'), 'utf8')).toBe('not really a jpeg');
    expect((await stat(join(back, 'hello.txt'))).isFile()).toBe(true);
    const remote = parseJson(await fx.fos(['list', '-R', '--json'])) as { path: string }[];
    expect(remote.map((e) => e.path)).toEqual(['papers']);
  });
});
