import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { HOSTILE_PATHS } from '../../test/fixtures/hostile-paths.js';
import { resolveUnder } from './safe-root.js';

let top: string;
let root: string;
let outside: string;

beforeEach(async () => {
  top = await mkdtemp(join(tmpdir(), 'fos-safe-root-'));
  root = join(top, 'uploads', 'alice');
  outside = join(top, 'outside');
  await mkdir(root, { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'secret.txt'), 'secret');
});

afterEach(async () => {
  await rm(top, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FosError) return err.code;
    throw err;
  }
  return 'resolved';
}

describe('resolveUnder', () => {
  it('maps a remote path under the root, existing or not', async () => {
    await mkdir(join(root, 'docs'));
    expect(await resolveUnder(root, 'docs/a.txt')).toBe(join(root, 'docs', 'a.txt'));
    expect(await resolveUnder(root, 'new/deep/file')).toBe(join(root, 'new', 'deep', 'file'));
    expect(await resolveUnder(root, '')).toBe(root);
  });

  it('normalises to NFC', async () => {
    expect(await resolveUnder(root, 'cafe\u0301')).toBe(join(root, 'caf\u00e9'));
  });

  it('keeps percent-encoded dots as a literal name inside the root', async () => {
    expect(await resolveUnder(root, '%2e%2e/%2e%2e/etc')).toBe(join(root, '%2e%2e', '%2e%2e', 'etc'));
  });

  it('refuses every hostile path', async () => {
    for (const { path } of HOSTILE_PATHS) {
      expect(await codeOf(resolveUnder(root, path))).toBe('FOS_ERR_PATH_BAD');
    }
  });

  it('refuses a symlinked folder that leads outside', async () => {
    await symlink(outside, join(root, 'escape'));
    expect(await codeOf(resolveUnder(root, 'escape/secret.txt'))).toBe('FOS_ERR_PATH_BAD');
    expect(await codeOf(resolveUnder(root, 'escape'))).toBe('FOS_ERR_PATH_BAD');
  });

  it('refuses a symlinked final file, even one pointing inside the root', async () => {
    await writeFile(join(root, 'real.txt'), 'x');
    await symlink(join(root, 'real.txt'), join(root, 'link.txt'));
    await symlink(join(outside, 'secret.txt'), join(root, 'leak.txt'));
    expect(await codeOf(resolveUnder(root, 'link.txt'))).toBe('FOS_ERR_PATH_BAD');
    expect(await codeOf(resolveUnder(root, 'leak.txt'))).toBe('FOS_ERR_PATH_BAD');
    expect(await resolveUnder(root, 'real.txt')).toBe(join(root, 'real.txt'));
  });

  it('refuses a dangling symlink and one deep in the tree', async () => {
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await symlink(join(top, 'nowhere'), join(root, 'a', 'b', 'dangling'));
    expect(await codeOf(resolveUnder(root, 'a/b/dangling/x'))).toBe('FOS_ERR_PATH_BAD');
  });

  it('says which component is the link', async () => {
    await mkdir(join(root, 'a'));
    await symlink(outside, join(root, 'a', 'out'));
    await expect(resolveUnder(root, 'a/out/secret.txt')).rejects.toThrow(/"a\/out" is a symbolic link/u);
  });

  it('stops checking below a file (nothing can exist there)', async () => {
    await writeFile(join(root, 'file'), 'x');
    expect(await resolveUnder(root, 'file/child')).toBe(join(root, 'file', 'child'));
  });

  it('trusts a root that is itself a link', async () => {
    const linkRoot = join(top, 'root-link');
    await symlink(root, linkRoot);
    expect(await resolveUnder(linkRoot, 'x')).toBe(join(linkRoot, 'x'));
  });
});
