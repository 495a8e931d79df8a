/**
 * Issue 9, a database restored from a backup: the server's start-up reconciliation finds
 * its store behind its disk and renews its history mark. A device whose cursor came from the
 * lost history must reread the whole change feed even when, by the time it looks, other
 * devices have brought the revision back up to its cursor: the revision alone would hide
 * the changes that reused its numbers from it for good.
 */
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startServer } from '../support/server.js';
import type { TestServer } from '../support/server.js';
import { openDevice, treeOf } from '../support/sync-device.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'rita', PASSWORD);
});

afterAll(async () => {
  await server?.dispose();
});

describe('the history mark', () => {
  it('a device whose revisions the restored server reused rereads the feed and misses nothing', { timeout: 120_000 }, async () => {
    const common = { host: server.host, port: server.port, user: 'rita', password: PASSWORD };
    const a = await openDevice({ ...common, name: 'laptop' });
    const b = await openDevice({ ...common, name: 'desktop' });
    try {
      await writeFile(join(a.root, 'first.txt'), 'before the backup');
      await a.sync();
      await b.sync();

      // A backup of the database (taken with the server stopped, so fos.db is whole).
      await server.stop();
      const backup = join(server.dataDir, 'backup.db');
      await copyFile(join(server.dataDir, 'fos.db'), backup);
      await server.restart();

      // Two commits after the backup, seen by both devices.
      await writeFile(join(a.root, 'g1.txt'), 'after the backup, one');
      await a.sync();
      await writeFile(join(a.root, 'g2.txt'), 'after the backup, two');
      await a.sync();
      await b.sync();
      expect(Object.keys(await treeOf(b.root)).sort()).toEqual(['first.txt', 'g1.txt', 'g2.txt']);

      // The database comes back from the backup: its revision is below both cursors.
      await server.stop();
      await copyFile(backup, join(server.dataDir, 'fos.db'));
      await rm(join(server.dataDir, 'fos.db-wal'), { force: true });
      await rm(join(server.dataDir, 'fos.db-shm'), { force: true });
      await server.restart();
      expect(server.port).toBe(common.port);

      // New files from the laptop, a commit each, bring the revision back up to (and past)
      // the desktop's cursor before the desktop looks: some reuse revisions it has seen.
      for (const name of ['late-1.txt', 'late-2.txt', 'late-3.txt']) {
        await writeFile(join(a.root, name), `${name}, after the restore`);
        await a.sync();
      }
      const pass = await b.sync();
      expect(pass.inSync).toBe(true);
      expect(await treeOf(b.root)).toEqual(await treeOf(a.root));
      expect(Object.keys(await treeOf(b.root)).sort()).toEqual(['first.txt', 'g1.txt', 'g2.txt', 'late-1.txt', 'late-2.txt', 'late-3.txt']);
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });
});
