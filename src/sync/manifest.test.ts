import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FosError } from '../errors.js';
import { Manifest, manifestFile, readHeldRecords } from './manifest.js';
import type { FlushTimer } from './manifest.js';
import type { BaseState } from './types.js';

const SHA = 'ab'.repeat(32);

function file(rev: number, size = 3): BaseState {
  return { kind: 'file', size, mtimeMs: 1_700_000_000_000, sha256: SHA, rev };
}

function fakeTimer(): { timer: FlushTimer; fire: () => void; pending: () => number } {
  const timers: { callback: () => void; cancelled: boolean }[] = [];
  return {
    timer: (callback) => {
      const t = { callback, cancelled: false };
      timers.push(t);
      return () => {
        t.cancelled = true;
      };
    },
    fire: () => {
      for (const t of timers.splice(0)) if (!t.cancelled) t.callback();
    },
    pending: () => timers.filter((t) => !t.cancelled).length,
  };
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-manifest-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('manifest', () => {
  it('remembers pending held batches across a reopen and says which batch a path is in (issue 11)', async () => {
    const m = await Manifest.open({ stateDir: dir, pairId: 'held-1' });
    const record = { side: 'remote', id: 'k3f9q2xm', itemsKey: 'k', count: 2, bytes: 6, paths: ['a.txt', 'b/c.txt'] } as const;
    m.setHeld('remote', record);
    expect(m.heldBatchOf('b/c.txt')).toEqual(record);
    await m.close();
    const again = await Manifest.open({ stateDir: dir, pairId: 'held-1' });
    expect(again.held).toEqual([record]);
    expect(again.heldBatchOf('a.txt')?.id).toBe('k3f9q2xm');
    expect(again.heldBatchOf('other.txt')).toBeNull();
    expect(await readHeldRecords(dir, 'held-1')).toEqual([record]);
    again.setHeld('remote', null);
    expect(again.heldBatchOf('a.txt')).toBeNull();
    await again.close();
    expect(await readHeldRecords(dir, 'held-1')).toEqual([]);
    expect(await readHeldRecords(dir, 'missing')).toEqual([]);
    // Without anything held, the file has no `held` field, as before held deletions.
    expect(JSON.parse(await readFile(manifestFile(dir, 'held-1'), 'utf8'))).not.toHaveProperty('held');
  });

  it('starts empty and batches writes: many changes, one timer, one write', async () => {
    const t = fakeTimer();
    const m = await Manifest.open({ stateDir: dir, pairId: 'photos-1', timer: t.timer });
    expect(m.file).toBe(join(dir, 'photos-1.manifest.json'));
    expect(m.recovery).toBeNull();
    expect(m.records.size).toBe(0);
    for (let i = 0; i < 100; i++) m.set(`f${i}`, file(i));
    m.delete('f0');
    expect(t.pending()).toBe(1);
    expect(await exists(m.file)).toBe(false);
    t.fire();
    await waitFor(() => exists(m.file));
    await waitFor(async () => !m.isDirty);
    const again = await Manifest.openFile(m.file);
    expect(again.records.size).toBe(99);
    expect(again.get('f7')).toEqual(file(7));
  });

  it('round-trips cursor, root identity and server id, and flushes on demand', async () => {
    const m = await Manifest.open({ stateDir: dir, pairId: 'docs', timer: fakeTimer().timer });
    m.cursor = 42;
    m.root = { dev: 2049, ino: 123456, folderId: 'f-1' };
    m.serverId = 'srv-9';
    m.set('a', { kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev: 3 });
    await m.flush();
    const again = await Manifest.open({ stateDir: dir, pairId: 'docs' });
    expect(again.cursor).toBe(42);
    expect(again.root).toEqual({ dev: 2049, ino: 123456, folderId: 'f-1' });
    expect(again.serverId).toBe('srv-9');
    expect(again.get('a')?.kind).toBe('dir');
    const text = JSON.parse(await readFile(m.file, 'utf8')) as { version: number };
    expect(text.version).toBe(1);
  });

  it('moves records of a subtree', async () => {
    const m = await Manifest.open({ stateDir: dir, pairId: 'p', timer: fakeTimer().timer });
    m.set('a', { kind: 'dir', size: 0, mtimeMs: 0, sha256: '', rev: 1 });
    m.set('a/x', file(2));
    m.set('ab', file(3));
    expect(m.move('a', 'b/c').sort()).toEqual(['b/c', 'b/c/x']);
    expect([...m.records.keys()].sort()).toEqual(['ab', 'b/c', 'b/c/x']);
  });

  // Issue 8: a no-op pass sets the cursor it already has; the 100,000-record file stays as it is.
  it('is not dirty after setting the cursor it already has, and writes compact JSON when it changes', async () => {
    const m = await Manifest.open({ stateDir: dir, pairId: 'noop' });
    m.set('a', file(1));
    m.cursor = 7;
    await m.flush();
    expect(m.isDirty).toBe(false);
    m.cursor = 7;
    expect(m.isDirty).toBe(false);
    const text = await readFile(m.file, 'utf8');
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)).toMatchObject({ cursor: 7, entries: { a: file(1) } });
    m.cursor = 8;
    expect(m.isDirty).toBe(true);
    await m.close();
    const again = await Manifest.open({ stateDir: dir, pairId: 'noop' });
    expect(again.cursor).toBe(8);
    expect(again.get('a')).toEqual(file(1));
  });

  it('moves aside a record with an unknown key or a bad hash', async () => {
    for (const [i, bad] of [{ ...file(1), extra: 1 }, { ...file(1), sha256: 'XY' }, 'text'].entries()) {
      const target = manifestFile(dir, `bad${i}`);
      await writeFile(target, JSON.stringify({ version: 1, cursor: 0, root: null, entries: { 'd/x': bad } }));
      const m = await Manifest.open({ stateDir: dir, pairId: `bad${i}`, now: () => 5 });
      expect(m.recovery?.error.message).toMatch(/entries\.d\/x/u);
      expect(m.records.size).toBe(0);
    }
  });

  it('moves a corrupt file aside and starts from an empty base', async () => {
    const target = manifestFile(dir, 'p');
    await writeFile(target, '{"version":1,"cursor":');
    const m = await Manifest.open({ stateDir: dir, pairId: 'p', now: () => 1234 });
    expect(m.records.size).toBe(0);
    expect(m.recovery?.error.code).toBe('FOS_ERR_SYNC_MANIFEST');
    expect(m.recovery?.error.message).toMatch(/not valid JSON/u);
    expect(m.recovery?.movedTo).toBe(`${target}.corrupt-1234`);
    expect(await readFile(`${target}.corrupt-1234`, 'utf8')).toBe('{"version":1,"cursor":');
    expect(await exists(target)).toBe(false);
  });

  it('moves aside a file that parses but does not validate, naming the field', async () => {
    const target = manifestFile(dir, 'p');
    await writeFile(target, JSON.stringify({ version: 1, cursor: 0, root: null, entries: { x: { kind: 'file', size: -1, mtimeMs: 0, sha256: SHA, rev: 1 } } }));
    const m = await Manifest.open({ stateDir: dir, pairId: 'p', now: () => 99 });
    expect(m.recovery?.error.message).toMatch(/entries\.x\.size/u);
    expect(m.records.size).toBe(0);
    expect(await readdir(dir)).toEqual(['p.manifest.json.corrupt-99']);
  });

  it('refuses unsafe pair ids', () => {
    for (const id of ['../x', 'a/b', '', '.hidden']) {
      expect(() => manifestFile(dir, id)).toThrow(expect.objectContaining({ code: 'FOS_ERR_SYNC_MANIFEST' }) as Error);
    }
  });

  it('reports a failed write: thrown on demand, to onError when batched', async () => {
    const errors: FosError[] = [];
    const t = fakeTimer();
    const m = await Manifest.openFile(join(dir, 'missing', 'x.manifest.json'), { timer: t.timer, onError: (e) => errors.push(e) });
    m.set('a', file(1));
    await expect(m.flush()).rejects.toMatchObject({ code: 'FOS_ERR_SYNC_MANIFEST' });
    expect(m.isDirty).toBe(true);
    m.set('b', file(2));
    t.fire();
    await waitFor(async () => errors.length > 0);
    expect(errors[0]?.code).toBe('FOS_ERR_SYNC_MANIFEST');
  });

  it('close flushes once and is idempotent', async () => {
    const t = fakeTimer();
    const m = await Manifest.open({ stateDir: dir, pairId: 'c', timer: t.timer });
    m.set('a', file(1));
    const first = m.close();
    expect(m.close()).toBe(first);
    await first;
    expect(t.pending()).toBe(0);
    expect((await Manifest.openFile(m.file)).get('a')).toEqual(file(1));
  });

  it('is always a complete old or new version on disk while flushes run (crash safety)', async () => {
    const m = await Manifest.open({ stateDir: dir, pairId: 'big', timer: fakeTimer().timer });
    const sizes = new Set<number>([0]);
    let writing = true;
    const reads: number[] = [];
    const reader = (async () => {
      while (writing) {
        const text = await readFile(m.file, 'utf8').catch(() => null);
        if (text !== null) {
          const parsed = JSON.parse(text) as { entries: Record<string, unknown> };
          reads.push(Object.keys(parsed.entries).length);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let round = 1; round <= 15; round++) {
      for (let i = 0; i < 2_000; i++) m.set(`r${round}/file-${i}`, file(round, i));
      sizes.add(m.records.size);
      await m.flush();
    }
    writing = false;
    await reader;
    expect(reads.length).toBeGreaterThan(0);
    for (const n of reads) expect(sizes.has(n)).toBe(true);
    const final = await Manifest.openFile(m.file);
    expect(final.records.size).toBe(30_000);
  });
});
