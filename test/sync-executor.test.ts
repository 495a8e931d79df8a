/**
 * The executor's ordering and its per-path error isolation (issue 11, item 6, started in
 * issue 5): batches never hold related paths, and one file the server refuses does not
 * stop the others; it is reported with a next retry time and left alone until then.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchOps } from '../src/sync/executor.js';
import { opPaths } from '../src/sync/order.js';
import { isAtOrUnder } from '../src/sync/path-tree.js';
import type { Op } from '../src/sync/types.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { fixedClock, openDevice, treeOf } from './support/sync-device.js';

const entry = (path: string, kind: 'file' | 'dir' = 'file') => ({ path, kind, size: 1, mtimeMs: 1, sha256: 'a'.repeat(64), rev: 1, deleted: false }) as const;

describe('batchOps', () => {
  it('keeps related paths in separate batches, in plan order, and unrelated ones together', () => {
    const ops: Op[] = [
      { kind: 'deleteRemote', path: 'old/x.txt', entryKind: 'file', baseRev: 1, rule: 'localDeleted' },
      { kind: 'deleteRemote', path: 'y.txt', entryKind: 'file', baseRev: 1, rule: 'localDeleted' },
      { kind: 'mkdirLocal', path: 'a', entry: entry('a', 'dir'), rule: 'remoteNew' },
      { kind: 'mkdirLocal', path: 'a/b', entry: entry('a/b', 'dir'), rule: 'remoteNew' },
      { kind: 'deleteRemote', path: 'old', entryKind: 'dir', baseRev: 1, rule: 'localDeleted' },
      { kind: 'download', path: 'a/b/c.txt', entry: entry('a/b/c.txt'), expectLocal: null, rule: 'remoteNew' },
      { kind: 'download', path: 'z.txt', entry: entry('z.txt'), expectLocal: null, rule: 'remoteNew' },
    ];
    const batches = batchOps(ops);
    expect(batches.flat()).toEqual(ops);
    for (const batch of batches) {
      const paths = batch.flatMap(opPaths);
      for (const p of paths) for (const q of paths) if (p !== q) expect(isAtOrUnder(p, q)).toBe(false);
      expect(new Set(paths).size).toBe(paths.length);
    }
    const batchOf = (path: string): number => batches.findIndex((b) => b.some((op) => opPaths(op).includes(path)));
    expect(batchOf('a')).toBeLessThan(batchOf('a/b'));
    expect(batchOf('a/b')).toBeLessThan(batchOf('a/b/c.txt'));
    expect(batchOf('old/x.txt')).toBeLessThan(batchOf('old'));
    expect(batchOf('y.txt')).toBe(batchOf('old/x.txt'));
  });
});

describe('per-path error isolation', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
    await addUser(server.dataDir, 'iso', 'correct horse battery');
  });

  afterAll(async () => {
    await server?.dispose();
  });

  it('syncs the other files when one is refused, and reports it with its next retry', async () => {
    const a = await openDevice({ host: server.host, port: server.port, user: 'iso', password: 'correct horse battery', name: 'a' });
    const b = await openDevice({ host: server.host, port: server.port, user: 'iso', password: 'correct horse battery', name: 'b' });
    try {
      for (let i = 0; i < 30; i++) await writeFile(join(a.root, `ok-${i}.txt`), `fine ${i}`);
      // A name the server refuses (backslashes are not allowed in remote paths).
      await writeFile(join(a.root, 'bad\\name.txt'), 'refused');
      // The pass's clock stands still, so the retry time cannot pass on a loaded machine.
      const clock = fixedClock(Date.now());
      const first = await a.sync({ clock });
      expect(first.execution.done.upload).toBe(30);
      expect(first.execution.failed.map((f) => f.path)).toEqual(['bad\\name.txt']);
      const failure = first.execution.failed[0];
      expect(failure?.code).toBe('FOS_ERR_PATH_BAD');
      expect(failure?.nextRetryAt).toBeGreaterThan(first.finishedAt);
      expect(first.retryAt).toBe(failure?.nextRetryAt);
      expect(first.inSync).toBe(false);
      const second = await a.sync({ clock });
      expect(second.execution.skipped).toEqual([{ path: 'bad\\name.txt', kind: 'upload', reason: 'backingOff' }]);
      expect(a.pair.errors.list().map((e) => e.path)).toEqual(['bad\\name.txt']);
      await b.sync();
      expect(Object.keys(await treeOf(b.root))).toHaveLength(30);
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });
});
