import { createHash } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { createIgnoreMatcher } from './ignore.js';
import { reconcile } from './reconcile.js';
import { isStable, scanFolder } from './scanner.js';
import type { BaseState, LocalState } from './types.js';

let root = '';
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fos-scan-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function byPath(local: Map<string, LocalState>): Record<string, LocalState> {
  return Object.fromEntries([...local.values()].map((s) => [s.path, s]));
}

function baseOf(local: Map<string, LocalState>): Map<string, BaseState> {
  return new Map([...local.values()].map((s) => [s.path, { kind: s.kind, size: s.size, mtimeMs: s.mtimeMs, sha256: s.sha256, rev: 1 }]));
}

describe('scanFolder', () => {
  it('lists files with size, mtime and SHA-256, folders (empty ones too) as dir entries', async () => {
    await mkdir(join(root, 'a/b'), { recursive: true });
    await mkdir(join(root, 'empty'));
    await writeFile(join(root, 'top.txt'), 'hello');
    await writeFile(join(root, 'a/b/deep.bin'), 'EOF');
    const r = await scanFolder({ root });
    expect(r.root).toBe('present');
    const found = byPath(r.local);
    expect(Object.keys(found).sort()).toEqual(['a', 'a/b', 'a/b/deep.bin', 'empty', 'top.txt']);
    expect(found['top.txt']).toMatchObject({ kind: 'file', size: 5, sha256: sha('hello'), diskPath: 'top.txt' });
    expect(found['a/b/deep.bin']?.sha256).toBe(sha('EOF'));
    expect(found['empty']).toEqual({ path: 'empty', diskPath: 'empty', kind: 'dir', size: 0, mtimeMs: 0, sha256: '' });
    expect(r.hashed).toBe(2);
    expect(r.held).toEqual([]);
  });

  it('hashes only files whose size or mtime differ from the base', async () => {
    await writeFile(join(root, 'same.txt'), 'one');
    await writeFile(join(root, 'touched.txt'), 'two');
    const first = await scanFolder({ root });
    const fake = 'f'.repeat(64);
    const base = baseOf(first.local);
    base.set('same.txt', { ...(base.get('same.txt') as BaseState), sha256: fake });
    await utimes(join(root, 'touched.txt'), new Date(2_000_000_000_000), new Date(2_000_000_000_000));
    const second = await scanFolder({ root, base });
    expect(second.hashed).toBe(1);
    expect(byPath(second.local)['same.txt']?.sha256).toBe(fake);
    expect(byPath(second.local)['touched.txt']).toMatchObject({ sha256: sha('two'), mtimeMs: 2_000_000_000_000 });
  });

  it('gives NFC sync paths and keeps the disk names; NFC and NFD twins are both reported', async () => {
    const nfd = 'cafe\u0301';
    await mkdir(join(root, nfd));
    await writeFile(join(root, nfd, 're\u0301sume\u0301.txt'), 'x');
    const r = await scanFolder({ root });
    expect(byPath(r.local)['caf\u00e9/r\u00e9sum\u00e9.txt']?.diskPath).toBe(`${nfd}/re\u0301sume\u0301.txt`);

    await mkdir(join(root, 'caf\u00e9'));
    const twins = await scanFolder({ root });
    const cafes = [...twins.local.values()].filter((s) => s.path === 'caf\u00e9');
    expect(cafes.map((s) => s.diskPath).sort()).toEqual(['caf\u00e9', nfd].sort());
    const plan = reconcile({ base: new Map(), local: twins.local, remote: new Map(), device: 'd', now: 0 });
    expect(plan.problems).toMatchObject([{ code: 'nameCollision', path: 'caf\u00e9' }]);
    expect(plan.ops).toEqual([]);
  });

  it('skips ignored files and does not descend into ignored folders', async () => {
    await mkdir(join(root, 'node_modules/pkg'), { recursive: true });
    await writeFile(join(root, 'node_modules/pkg/index.js'), 'x');
    await writeFile(join(root, '.DS_Store'), 'x');
    await writeFile(join(root, '.fos-tmp-123'), 'x');
    await writeFile(join(root, 'keep.txt'), 'x');
    const matcher = createIgnoreMatcher({ patterns: ['node_modules/'] });
    const r = await scanFolder({ root, isIgnored: (p, d) => matcher.isIgnored(p, d) });
    expect(Object.keys(byPath(r.local))).toEqual(['keep.txt']);
  });

  it('does not follow symlinks and skips special files, with a warning, holding their paths', async () => {
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real/f.txt'), 'x');
    await symlink(join(root, 'real'), join(root, 'linkdir'));
    await symlink(join(root, 'real/f.txt'), join(root, 'linkfile'));
    await symlink(join(root, 'nowhere'), join(root, 'dangling'));
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
    try {
      const r = await scanFolder({ root });
      expect(Object.keys(byPath(r.local)).sort()).toEqual(['real', 'real/f.txt']);
      expect(r.warnings.map((w) => `${w.code} ${w.path}`).sort()).toEqual(['special sock', 'symlink dangling', 'symlink linkdir', 'symlink linkfile']);
      expect(r.held.sort()).toEqual(['dangling', 'linkdir', 'linkfile', 'sock']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('isolates a file that cannot be read: reported and held, the others scanned (issue 11)', async () => {
    for (let i = 0; i < 20; i++) await writeFile(join(root, `f${i}.txt`), `content ${i}`);
    const r = await scanFolder({
      root,
      hashFile: async (path) => {
        if (path.endsWith('f7.txt')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return sha(path);
      },
    });
    expect(r.local.size).toBe(19);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.path).toBe('f7.txt');
    expect(r.errors[0]?.error).toBeInstanceOf(FosError);
    expect(r.errors[0]?.error.code).toBe('FOS_ERR_SYNC_LOCAL_IO');
    expect(r.held).toEqual(['f7.txt']);

    const base = new Map<string, BaseState>([['f7.txt', { kind: 'file', size: 9, mtimeMs: 1, sha256: 'a'.repeat(64), rev: 3 }]]);
    const remote = new Map([['f7.txt', { path: 'f7.txt', kind: 'file' as const, size: 9, mtimeMs: 1, sha256: 'a'.repeat(64), rev: 3, deleted: false }]]);
    const plan = reconcile({ base, local: r.local, remote, held: r.held, device: 'd', now: 0 });
    expect(plan.ops.some((op) => op.kind === 'deleteRemote')).toBe(false);
  });

  it('holds files still being written, and files that change while hashed', async () => {
    await writeFile(join(root, 'fresh.txt'), 'x');
    const held = await scanFolder({ root, settleMs: 60_000 });
    expect(held.unsettled).toEqual(['fresh.txt']);
    expect(held.held).toEqual(['fresh.txt']);
    expect(held.local.size).toBe(0);
    const later = await scanFolder({ root, settleMs: 60_000, now: () => Date.now() + 120_000 });
    expect(later.local.size).toBe(1);

    const moving = await scanFolder({
      root,
      hashFile: async (path) => {
        await appendFile(path, 'more');
        await utimes(path, new Date(), new Date(Date.now() + 5_000));
        return sha('x');
      },
    });
    expect(moving.unsettled).toEqual(['fresh.txt']);
    expect(moving.local.size).toBe(0);
  });

  it('hashes with bounded concurrency', async () => {
    for (let i = 0; i < 30; i++) await writeFile(join(root, `f${i}`), String(i));
    let inFlight = 0;
    let most = 0;
    const r = await scanFolder({
      root,
      hashConcurrency: 3,
      hashFile: async (path) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return sha(path);
      },
    });
    expect(r.hashed).toBe(30);
    expect(most).toBe(3);
  });

  it('reports a missing root, or one that is not a folder, as missing', async () => {
    expect((await scanFolder({ root: join(root, 'nope') })).root).toBe('missing');
    await writeFile(join(root, 'file'), 'x');
    expect((await scanFolder({ root: join(root, 'file') })).root).toBe('missing');
  });

  it('stops when aborted', async () => {
    await writeFile(join(root, 'a'), 'x');
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(scanFolder({ root, signal: controller.signal })).rejects.toThrow('stop');
  });

  it('scans 10,000 files already in sync hashing none', async () => {
    for (let d = 0; d < 100; d++) {
      await mkdir(join(root, `d${d}`));
      await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(root, `d${d}`, `f${f}.txt`), `${d}/${f}`)));
    }
    const base = baseOf((await scanFolder({ root })).local);
    const r = await scanFolder({ root, base });
    expect(r.hashed).toBe(0);
    expect(r.local.size).toBe(10_100);
  });
});

describe('isStable', () => {
  it('is true once mtime and ctime are older than the settle time', async () => {
    const file = join(root, 'f');
    await writeFile(file, 'x');
    expect(await isStable(file, 1_000)).toBe(false);
    expect(await isStable(file, 1_000, { now: () => Date.now() + 1_500 })).toBe(true);
    // Setting mtime back (cp -p) still moves ctime: not stable yet.
    await utimes(file, new Date(0), new Date(0));
    expect(await isStable(file, 1_000)).toBe(false);
    expect(await isStable(join(root, 'missing'), 1_000)).toBe(false);
  });
});
