import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { fsyncDir, renameDurable, tempPathIn, writeFileAtomic } from './atomic.js';
import { nodeFs, withWriteFault } from './fs.js';
import type { Fs } from './fs.js';
import { isCanonicalRemotePath } from './remote-path.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-atomic-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<FosError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FosError) return err;
    throw err;
  }
  throw new Error('resolved');
}

describe('writeFileAtomic', () => {
  it('creates and replaces a file, leaving no temporary file', async () => {
    const target = join(dir, 'manifest.json');
    await writeFileAtomic(target, 'one');
    await writeFileAtomic(target, new Uint8Array([116, 119, 111]));
    expect(await readFile(target, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['manifest.json']);
  });

  it('writes an empty file', async () => {
    await writeFileAtomic(join(dir, 'empty'), '');
    expect((await readFile(join(dir, 'empty'))).length).toBe(0);
  });

  it('on a full disk keeps the old content, removes the temporary file and says NO_SPACE', async () => {
    const target = join(dir, 'data');
    await writeFile(target, 'old');
    const fs = withWriteFault(nodeFs, { afterBytes: 2 });
    const err = await rejection(writeFileAtomic(target, 'new content', { fs }));
    expect(err.code).toBe('FOS_ERR_STORE_NO_SPACE');
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['data']);
  });

  it('a failing rename keeps the old content and cleans up', async () => {
    const target = join(dir, 'data');
    await writeFile(target, 'old');
    const fs: Fs = {
      ...nodeFs,
      rename: () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })),
    };
    const err = await rejection(writeFileAtomic(target, 'new', { fs }));
    expect(err.code).toBe('FOS_ERR_STORE_WRITE');
    expect(err.cause).toBeInstanceOf(Error);
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['data']);
  });

  it('fsyncs the file before the rename and the folder after it', async () => {
    const calls: string[] = [];
    const fs: Fs = {
      ...nodeFs,
      async openForWrite(path, mode) {
        const file = await nodeFs.openForWrite(path, mode);
        return {
          write: (d) => file.write(d),
          sync: async () => {
            calls.push('sync-file');
            await file.sync();
          },
          close: () => file.close(),
        };
      },
      rename: async (from, to) => {
        calls.push('rename');
        await nodeFs.rename(from, to);
      },
      syncDir: async (path) => {
        calls.push(`sync-dir:${path === dir ? 'parent' : path}`);
        await nodeFs.syncDir(path);
      },
    };
    await writeFileAtomic(join(dir, 'x'), 'x', { fs });
    expect(calls).toEqual(['sync-file', 'rename', 'sync-dir:parent']);
  });

  it('a missing folder is PATH_NOT_FOUND', async () => {
    const err = await rejection(writeFileAtomic(join(dir, 'nope', 'x'), 'x'));
    expect(err.code).toBe('FOS_ERR_PATH_NOT_FOUND');
  });
});

describe('renameDurable and fsyncDir', () => {
  it('moves a file across folders and syncs both folders', async () => {
    const synced: string[] = [];
    const fs: Fs = { ...nodeFs, syncDir: async (p) => void synced.push(p) };
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a', 'f'), 'payload');
    await renameDurable(join(dir, 'a', 'f'), join(dir, 'b', 'g'), { fs });
    expect(await readFile(join(dir, 'b', 'g'), 'utf8')).toBe('payload');
    expect(synced).toEqual([join(dir, 'b'), join(dir, 'a')]);
  });

  it('a missing source is PATH_NOT_FOUND', async () => {
    expect((await rejection(renameDurable(join(dir, 'x'), join(dir, 'y')))).code).toBe('FOS_ERR_PATH_NOT_FOUND');
  });

  it('fsyncDir works on a real folder and reports a missing one', async () => {
    await fsyncDir(dir);
    expect((await rejection(fsyncDir(join(dir, 'missing')))).code).toBe('FOS_ERR_PATH_NOT_FOUND');
  });

  it('temporary names are never legal remote names', () => {
    const temp = tempPathIn(dir);
    const name = temp.slice(dir.length + 1);
    expect(name).toMatch(/^\.fos-tmp-[0-9a-f]{16}$/u);
    expect(isCanonicalRemotePath(name)).toBe(false);
    expect(tempPathIn(dir)).not.toBe(temp);
  });
});

describe('withWriteFault', () => {
  it('writes what fits, then throws ENOSPC, across files', async () => {
    const fs = withWriteFault(nodeFs, { afterBytes: 5 });
    const a = await fs.openForWrite(join(dir, 'a'), 'exclusive');
    await a.write(new Uint8Array(3));
    await a.close();
    const b = await fs.openForWrite(join(dir, 'b'), 'exclusive');
    await expect(b.write(new Uint8Array(4))).rejects.toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    await b.close();
    expect((await readFile(join(dir, 'b'))).length).toBe(2);
  });

  it('limits only matching paths and honours a custom code', async () => {
    const fs = withWriteFault(nodeFs, { afterBytes: 0, code: 'EDQUOT', match: (p) => p.endsWith('.part') });
    const free = await fs.openForWrite(join(dir, 'free'), 'truncate');
    await free.write(new Uint8Array(10));
    await free.close();
    const part = await fs.openForWrite(join(dir, 'x.part'), 'append');
    await expect(part.write(new Uint8Array(1))).rejects.toMatchObject({ code: 'EDQUOT' });
    await part.close();
  });
});
