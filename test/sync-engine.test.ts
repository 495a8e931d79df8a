/**
 * Issue 5, "Done when" 1, 3 and 4 at the engine level: two devices against a real server,
 * each pass run in process with `runPass`.
 */
import { mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { openDevice, treeOf } from './support/sync-device.js';
import type { SyncDevice } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let userCount = 0;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.dispose();
});

async function twoDevices(remote = ''): Promise<[SyncDevice, SyncDevice]> {
  userCount += 1;
  const user = `engine${userCount}`;
  await addUser(server.dataDir, user, PASSWORD);
  const common = { host: server.host, port: server.port, user, password: PASSWORD, remote };
  return [await openDevice({ ...common, name: 'laptop' }), await openDevice({ ...common, name: 'desktop' })];
}

async function write(device: SyncDevice, path: string, content: string, mtimeMs?: number): Promise<void> {
  const target = join(device.root, path);
  await mkdir(join(target, '..'), { recursive: true });
  await writeFile(target, content);
  if (mtimeMs !== undefined) await utimes(target, mtimeMs / 1000, mtimeMs / 1000);
}

async function read(device: SyncDevice, path: string): Promise<string> {
  return readFile(join(device.root, path), 'utf8');
}

describe('two devices through a real server', () => {
  it('creates, modifies, deletes, renames and nests on A; B matches after a sync each, and back', async () => {
    const [a, b] = await twoDevices('shared/docs');
    try {
      await write(a, 'top.txt', 'top');
      await write(a, 'notes/one.md', 'one');
      await write(a, 'notes/deep/er/two.md', 'two');
      await mkdir(join(a.root, 'empty'), { recursive: true });
      await write(a, 'gone.txt', 'soon gone');
      await mkdir(join(a.root, 'bare'), { recursive: true });
      expect((await a.sync()).inSync).toBe(true);
      expect((await b.sync()).inSync).toBe(true);
      expect(await treeOf(b.root)).toEqual(await treeOf(a.root));

      await write(a, 'top.txt', 'top, edited');
      await rm(join(a.root, 'gone.txt'));
      await rename(join(a.root, 'notes'), join(a.root, 'renamed'));
      await write(a, 'renamed/deep/new.bin', 'x'.repeat(300_000));
      await rm(join(a.root, 'bare'), { recursive: true });
      const passA = await a.sync();
      expect(passA.inSync).toBe(true);
      // A rename is sent as MOVE, never as a new upload of the moved content.
      expect(passA.execution.done.moveRemote).toBeGreaterThanOrEqual(1);
      expect(passA.execution.bytesUploaded).toBe(300_000 + 'top, edited'.length);
      await b.sync();
      expect(await treeOf(b.root)).toEqual(await treeOf(a.root));
      expect(await read(b, 'renamed/deep/er/two.md')).toBe('two');

      // The other way round.
      await write(b, 'from-b/hello.txt', 'hello from b');
      await rm(join(b.root, 'renamed/one.md'));
      await rename(join(b.root, 'top.txt'), join(b.root, 'top-renamed.txt'));
      await b.sync();
      await a.sync();
      expect(await treeOf(a.root)).toEqual(await treeOf(b.root));
      expect(Object.keys(await treeOf(a.root))).toContain('from-b/hello.txt');
      // Nothing more to do on either side.
      expect((await a.sync()).planned).toEqual([]);
      expect((await b.sync()).planned).toEqual([]);
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });

  it('keeps both versions of a file changed on both sides, one as a conflict copy, on both', async () => {
    const [a, b] = await twoDevices();
    try {
      await write(a, 'report.txt', 'base');
      await a.sync();
      await b.sync();
      await write(a, 'report.txt', 'edit from A, longer');
      await write(b, 'report.txt', 'edit from B');
      await a.sync();
      const passB = await b.sync();
      expect(passB.execution.conflicts).toHaveLength(1);
      await a.sync();
      const treeA = await treeOf(a.root);
      expect(await treeOf(b.root)).toEqual(treeA);
      const copies = Object.keys(treeA).filter((p) => p.includes('(conflict from'));
      expect(copies).toHaveLength(1);
      const contents = [await read(a, 'report.txt'), await read(a, copies[0] as string)].sort();
      expect(contents).toEqual(['edit from A, longer', 'edit from B']);
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });

  it('lets an edit win over a deletion, on both sides', async () => {
    const [a, b] = await twoDevices();
    try {
      await write(a, 'keep.txt', 'v1');
      await a.sync();
      await b.sync();
      await rm(join(a.root, 'keep.txt'));
      await write(b, 'keep.txt', 'v2 from B');
      await a.sync();
      await b.sync();
      await a.sync();
      expect(await read(a, 'keep.txt')).toBe('v2 from B');
      expect(await read(b, 'keep.txt')).toBe('v2 from B');
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });

  it('refuses to delete 60 % of a folder without force (holds it); nothing is deleted anywhere', async () => {
    const [a, b] = await twoDevices();
    try {
      for (let i = 0; i < 10; i++) await write(a, `f${i}.txt`, `file ${i}`);
      await a.sync();
      await b.sync();
      const before = await treeOf(b.root);
      for (let i = 0; i < 6; i++) await rm(join(a.root, `f${i}.txt`));
      const refused = await a.sync();
      expect(refused.guard?.kind).toBe('massDelete');
      expect(refused.guard?.blocked).toBe(true);
      expect(refused.execution.done.deleteRemote).toBe(0);
      // Issue 11: held on the server for a person, not dropped.
      expect(refused.held).toMatchObject([{ side: 'remote', count: 6, error: null }]);
      await b.sync();
      expect(await treeOf(b.root)).toEqual(before);
      const forced = await a.sync({ force: true });
      expect(forced.execution.done.deleteRemote).toBe(6);
      // --force carried them out and withdrew the pending batch.
      expect(forced.held).toEqual([]);
      expect(a.pair.manifest.held).toEqual([]);
      expect(await a.pool.run((c) => c.held())).toEqual([]);
      await b.sync({ force: true });
      expect(Object.keys(await treeOf(b.root)).sort()).toEqual(['f6.txt', 'f7.txt', 'f8.txt', 'f9.txt']);
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });

  it('stops when the root was replaced: nothing is deleted anywhere', async () => {
    const [a, b] = await twoDevices();
    try {
      await write(a, 'x.txt', 'x');
      await write(a, 'y.txt', 'y');
      await a.sync();
      await b.sync();
      await rm(a.root, { recursive: true });
      const missing = await a.sync();
      expect(missing.guard?.kind).toBe('rootMissing');
      await mkdir(a.root);
      const replaced = await a.sync();
      expect(replaced.guard?.kind).toBe('rootReplaced');
      expect(replaced.guard?.message).toContain('folder identity changed');
      await b.sync();
      expect(Object.keys(await treeOf(b.root)).sort()).toEqual(['x.txt', 'y.txt']);
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });
});
