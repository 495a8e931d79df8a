/**
 * Issue 11, held deletions, at the engine level: two devices against a real server, each
 * pass run in process. "Done when": deleting 60 % of a 1,000-file folder holds the
 * deletions on the server, nothing disappears on the server or the other device, approve
 * deletes them (into the trash, and on the other device without holding them again),
 * reject brings them back. Also: an edit made meanwhile survives approval, the server's
 * side of a batch (HOLD in parts, supersede, withdraw), and a batch held on the side of a
 * device whose server already lost the files.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FosClient } from '../src/client/index.js';
import { FosError } from '../src/errors.js';
import type { DeletionItem } from '../src/protocol/types.js';
import { RawPeer } from './support/fos2.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { openDevice, treeOf } from './support/sync-device.js';
import type { SyncDevice } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
const FILES = 1000;
const VICTIMS = 600;
/** The scenarios beyond "Done when" need the share rule only: a tenth of the files will do. */
const SMALL = { files: 100, victims: 60 };
/** A thousand files synced twice over on a shared machine take their time. */
const SLOW = { timeout: 300_000 };
let server: TestServer;
let userCount = 0;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.dispose();
});

interface Size {
  readonly files: number;
  readonly victims: number;
}

const DONE_WHEN: Size = { files: FILES, victims: VICTIMS };

function name(i: number): string {
  return `album/${String(i % 10)}/photo-${String(i).padStart(4, '0')}.jpg`;
}

/** Two devices of a fresh user, both holding the same `size.files` files. */
async function twoSyncedDevices(size: Size): Promise<[SyncDevice, SyncDevice]> {
  userCount += 1;
  const user = `held${userCount}`;
  await addUser(server.dataDir, user, PASSWORD);
  const common = { host: server.host, port: server.port, user, password: PASSWORD, remote: 'photos', concurrency: 8 };
  const a = await openDevice({ ...common, name: 'laptop' });
  const b = await openDevice({ ...common, name: 'desktop' });
  for (let i = 0; i < size.files; i++) {
    const path = join(a.root, name(i));
    if (i < 10) await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, `photo ${i}`);
  }
  expect((await a.sync()).inSync).toBe(true);
  expect((await b.sync()).inSync).toBe(true);
  return [a, b];
}

async function deleteVictims(device: SyncDevice, size: Size): Promise<void> {
  for (let i = 0; i < size.victims; i++) await rm(join(device.root, name(i)));
}

function files(tree: Record<string, string>): string[] {
  return Object.keys(tree).filter((p) => !p.endsWith('/'));
}

async function serverFiles(device: SyncDevice): Promise<number> {
  // Every user's pair syncs the server folder 'photos'.
  const listing = await device.pool.run((c) => c.list('photos', { recursive: true }));
  return listing.entries.filter((e) => e.kind === 'file').length;
}

function run<T>(device: SyncDevice, fn: (client: FosClient) => Promise<T>): Promise<T> {
  return device.pool.run(fn);
}

describe('held deletions (issue 11)', SLOW, () => {
  it('holds 60 % of a 1,000-file folder; approve deletes them everywhere, into the trash', async () => {
    const [a, b] = await twoSyncedDevices(DONE_WHEN);
    try {
      const before = await treeOf(b.root);
      await deleteVictims(a, DONE_WHEN);
      const held = await a.sync();
      expect(held.guard).toMatchObject({ kind: 'massDelete', deletions: VICTIMS, total: FILES, blocked: true });
      expect(held.execution.done.deleteRemote).toBe(0);
      expect(held.held).toHaveLength(1);
      const batch = held.held[0];
      expect(batch).toMatchObject({ side: 'remote', count: VICTIMS, error: null });
      const id = batch?.batchId ?? '';
      expect(id).toMatch(/^[0-9a-z]{8}$/u);
      expect(held.guard?.message).toContain(id);
      expect(a.pair.manifest.held).toMatchObject([{ side: 'remote', id, count: VICTIMS }]);
      expect(a.pair.manifest.heldBatchOf(name(0))?.id).toBe(id);
      expect(a.pair.manifest.heldBatchOf(name(FILES - 1))).toBeNull();

      // Nothing disappears on the server or on the other device.
      expect(await serverFiles(a)).toBe(FILES);
      const passB = await b.sync();
      expect(passB.guard).toBeNull();
      expect(await treeOf(b.root)).toEqual(before);

      // A second pass holds the same set: same batch, no new one.
      const again = await a.sync();
      expect(again.held.map((h) => h.batchId)).toEqual([id]);
      const listed = await run(a, (c) => c.held({}));
      expect(listed.map((l) => l.batch.id)).toEqual([id]);
      expect(listed[0]?.batch).toMatchObject({ device: 'laptop', folder: 'photos', side: 'remote', count: VICTIMS, state: 'held' });

      const decision = await run(a, (c) => c.approveBatch(id));
      expect(decision).toMatchObject({ done: VICTIMS, kept: 0, batch: { state: 'approved' } });
      expect(decision.batch.commitRev).not.toBeNull();
      expect(await serverFiles(a)).toBe(FILES - VICTIMS);
      const trash = await run(a, (c) => c.trash('photos'));
      expect(trash.filter((t) => t.path.startsWith('photos/album/'))).toHaveLength(VICTIMS);

      // B sees 600 deletions from the server: approved, so its guard lets them through.
      const gone = await b.sync();
      expect(gone.guard).toBeNull();
      expect(gone.held).toEqual([]);
      expect(gone.execution.done.deleteLocal).toBe(VICTIMS);
      expect(files(await treeOf(b.root))).toHaveLength(FILES - VICTIMS);
      const settled = await a.sync();
      expect(settled.held).toEqual([]);
      expect(settled.inSync).toBe(true);
      expect(a.pair.manifest.held).toEqual([]);
      expect(await treeOf(b.root)).toEqual(await treeOf(a.root));
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });

  it('reject brings the files back on the device that deleted them', async () => {
    const [a, b] = await twoSyncedDevices(DONE_WHEN);
    try {
      const before = await treeOf(a.root);
      await deleteVictims(a, DONE_WHEN);
      const id = (await a.sync()).held[0]?.batchId ?? '';
      const decision = await run(a, (c) => c.rejectBatch(id));
      expect(decision).toMatchObject({ done: VICTIMS, kept: 0, batch: { state: 'rejected' } });
      const back = await a.sync();
      expect(back.execution.done.download).toBe(VICTIMS);
      expect(back.held).toEqual([]);
      expect(await treeOf(a.root)).toEqual(before);
      await b.sync();
      expect(await treeOf(b.root)).toEqual(before);
      // A decided batch cannot be decided again.
      await expect(run(a, (c) => c.approveBatch(id))).rejects.toMatchObject({ code: 'FOS_ERR_STORE_CONFLICT' });
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });

  it('an edit on the other device to a held file survives approval', async () => {
    const [a, b] = await twoSyncedDevices(SMALL);
    try {
      await deleteVictims(a, SMALL);
      const id = (await a.sync()).held[0]?.batchId ?? '';
      await writeFile(join(b.root, name(0)), 'edited on the desktop while the deletion waited');
      expect((await b.sync()).execution.done.upload).toBe(1);
      const decision = await run(a, (c) => c.approveBatch(id));
      expect(decision).toMatchObject({ done: SMALL.victims - 1, kept: 1 });
      await a.sync();
      await b.sync();
      const treeA = await treeOf(a.root);
      expect(files(treeA)).toHaveLength(SMALL.files - SMALL.victims + 1);
      expect(files(treeA)).toContain(name(0));
      expect(await treeOf(b.root)).toEqual(treeA);
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });

  it('keeps held deletions held when new files bring the share under the limit', async () => {
    const [a, b] = await twoSyncedDevices(SMALL);
    try {
      await deleteVictims(a, SMALL);
      const id = (await a.sync()).held[0]?.batchId ?? '';
      // 30 new files elsewhere: 60 deletions of 130 files is under 50 %, yet the batch waits.
      for (let i = 0; i < 30; i++) await writeFile(join(b.root, `new-${i}.txt`), `new ${i}`);
      await b.sync();
      expect((await a.sync()).execution.done.download).toBe(30);
      const pass = await a.sync();
      expect(pass.execution.done.deleteRemote).toBe(0);
      expect(pass.guard).toBeNull();
      expect(pass.held).toMatchObject([{ side: 'remote', batchId: id, count: SMALL.victims }]);
      expect(await serverFiles(a)).toBe(SMALL.files + 30);
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });

  it('holds on the device that would lose files the server lost; reject restores them from the trash, approve lets them go', async () => {
    const [a, b] = await twoSyncedDevices(SMALL);
    try {
      const before = await treeOf(b.root);
      await deleteVictims(a, SMALL);
      expect((await a.sync({ force: true })).execution.done.deleteRemote).toBe(SMALL.victims);
      const held = await b.sync();
      expect(held.held).toMatchObject([{ side: 'local', count: SMALL.victims }]);
      expect(await treeOf(b.root)).toEqual(before);
      const id = held.held[0]?.batchId ?? '';
      // Reject: the server restores the files from its trash; both devices have them again.
      expect(await run(b, (c) => c.rejectBatch(id))).toMatchObject({ done: SMALL.victims, kept: 0 });
      expect(await serverFiles(b)).toBe(SMALL.files);
      expect((await b.sync()).held).toEqual([]);
      expect(await treeOf(b.root)).toEqual(before);
      await a.sync();
      expect(await treeOf(a.root)).toEqual(before);

      // Again, and approve: the device that held them deletes them on its next pass.
      await deleteVictims(a, SMALL);
      await a.sync({ force: true });
      const second = (await b.sync()).held[0]?.batchId ?? '';
      expect(second).not.toBe(id);
      expect(await run(b, (c) => c.approveBatch(second))).toMatchObject({ done: SMALL.victims, batch: { side: 'local', state: 'approved' } });
      const pass = await b.sync();
      expect(pass.execution.done.deleteLocal).toBe(SMALL.victims);
      expect(pass.held).toEqual([]);
      expect(await treeOf(b.root)).toEqual(await treeOf(a.root));
    } finally {
      await a.close(true);
      await b.close(true);
    }
  });
});

describe('held batches on the server', () => {
  function items(count: number, rev = 1): DeletionItem[] {
    return Array.from({ length: count }, (_v, i) => ({ path: `big/f${String(i).padStart(5, '0')}.bin`, kind: 'file', rev, size: 10, sha256: 'a'.repeat(64) }));
  }

  it('takes 10,000 items in parts; the same set keeps its batch, another supersedes it, none withdraws it', async () => {
    userCount += 1;
    const user = `held${userCount}`;
    await addUser(server.dataDir, user, PASSWORD);
    const device = await openDevice({ host: server.host, port: server.port, user, password: PASSWORD, name: 'laptop' });
    try {
      const hold = (list: DeletionItem[]) => run(device, (c) => c.hold({ device: 'laptop', folder: '', side: 'remote', items: list }));
      const first = await hold(items(10_000));
      expect(first).toMatchObject({ outcome: 'created', batch: { count: 10_000, bytes: 100_000, state: 'held' } });
      const id = first.batch?.id ?? '';
      expect(await hold(items(10_000))).toMatchObject({ outcome: 'same', batch: { id } });
      const second = await hold(items(9_999));
      expect(second.outcome).toBe('superseded');
      const successor = second.batch?.id ?? '';
      expect(successor).not.toBe(id);
      const refused = await run(device, (c) => c.approveBatch(id)).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(FosError);
      expect(refused).toMatchObject({ code: 'FOS_ERR_STORE_CONFLICT', details: { state: 'superseded', successor } });
      expect((refused as FosError).message).toContain(successor);
      const listed = await run(device, (c) => c.held({ ids: [successor], items: true }));
      expect(listed[0]?.items).toHaveLength(9_999);
      expect(await hold([])).toMatchObject({ outcome: 'withdrawn', batch: { id: successor, state: 'withdrawn' } });
      expect(await hold([])).toMatchObject({ outcome: 'none', batch: null });
      await expect(run(device, (c) => c.approveBatch('zzzzzzzz'))).rejects.toMatchObject({ code: 'FOS_ERR_PATH_NOT_FOUND' });
      // The connection that held stays usable for the next request.
      expect((await run(device, (c) => c.held({ states: ['superseded', 'withdrawn'] }))).map((l) => l.batch.id)).toEqual([id, successor]);
    } finally {
      await device.close(true);
    }
  });

  it('a decision that commits nothing still notifies a watcher, at the current revision', async () => {
    userCount += 1;
    const user = `held${userCount}`;
    await addUser(server.dataDir, user, PASSWORD);
    const device = await openDevice({ host: server.host, port: server.port, user, password: PASSWORD, name: 'laptop' });
    const watcher = await RawPeer.login(server.port, user, PASSWORD);
    try {
      const ok = await watcher.request('WATCH', {});
      expect(ok.head).toBe('OK');
      // A `local` batch: the server already lost these; approving it only marks it.
      const held = await run(device, (c) => c.hold({ device: 'laptop', folder: '', side: 'local', items: items(3) }));
      const id = held.batch?.id ?? '';
      expect(await run(device, (c) => c.approveBatch(id))).toMatchObject({ done: 3, batch: { state: 'approved', commitRev: null } });
      const notice = await watcher.line();
      expect(notice.head).toBe('NOTICE');
      expect(notice.body).toMatchObject({ rev: ok.body['rev'] });
    } finally {
      await watcher.quit();
      await device.close(true);
    }
  });
});
