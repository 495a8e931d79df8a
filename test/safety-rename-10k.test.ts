/**
 * Issue 11, "Done when" 4: a folder of 10,000 files renamed on one device travels as a
 * rename. Both devices talk to the real server through a counting proxy: the renaming
 * device sends under 1 MiB, and the other device renames too without downloading a file
 * again (it receives the change feed, well under the folder's bytes), and ends up
 * identical by hashing.
 *
 * Lean set-up: the same 10,000 files are put in both device folders and in the server's
 * store before the server starts (it takes in files added by hand at start), so the first
 * passes only record what both sides already agree on.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../test-support/fault-proxy.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { openDevice, treeHash, treeOf } from './support/sync-device.js';
import type { SyncDevice } from './support/sync-device.js';

const USER = 'renamer';
const PASSWORD = 'correct horse battery';
const FOLDERS = 100;
const FILES_PER_FOLDER = 100;
const FILE_BYTES = 1024;
const MIB = 1024 * 1024;

let root: string;
let server: TestServer;
const proxies: FaultProxy[] = [];
const devices: SyncDevice[] = [];

/** Device `name`, connected through a proxy of its own, its folder filled from `seed`. */
async function device(name: string, seed: string): Promise<{ device: SyncDevice; proxy: FaultProxy }> {
  const proxy = await FaultProxy.start({ target: { host: server.host, port: server.port } });
  proxies.push(proxy);
  const opened = await openDevice({ host: '127.0.0.1', port: proxy.port, user: USER, password: PASSWORD, name, parent: root, concurrency: 8 });
  devices.push(opened);
  await cp(seed, opened.root, { recursive: true, preserveTimestamps: true });
  return { device: opened, proxy };
}

beforeAll(async () => {
  const t0 = Date.now();
  root = await mkdtemp(join(tmpdir(), 'fos-rename-10k-'));
  const seed = join(root, 'seed');
  for (let d = 0; d < FOLDERS; d++) {
    await mkdir(join(seed, 'photos', `d${d}`), { recursive: true });
    for (let f = 0; f < FILES_PER_FOLDER; f++) await writeFile(join(seed, 'photos', `d${d}`, `f${f}.bin`), randomBytes(FILE_BYTES));
  }
  const t1 = Date.now();
  const dataDir = join(root, 'data');
  await mkdir(dataDir);
  await addUser(dataDir, USER, PASSWORD);
  await cp(seed, join(dataDir, 'uploads', USER), { recursive: true, preserveTimestamps: true });
  // At start the server hashes and records the 10,000 files it finds.
  const t2 = Date.now();
  server = await startServer({ dataDir, startTimeoutMs: 180_000 });
  console.info(`set-up: seed ${t1 - t0} ms, server data ${t2 - t1} ms, server start ${Date.now() - t2} ms`);
}, 300_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  await Promise.all(proxies.map((p) => p.close()));
  await server?.dispose();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('a folder of 10,000 files renamed', () => {
  it('sends under 1 MiB from the renaming device, and the other device renames without downloading a file', async () => {
    const t0 = Date.now();
    const seed = join(root, 'seed');
    const a = await device('laptop', seed);
    const b = await device('desktop', seed);
    // The first passes only record what both sides hold already.
    for (const d of [a, b]) {
      const first = await d.device.sync();
      expect(first.inSync).toBe(true);
      expect(first.execution.bytesUploaded + first.execution.bytesDownloaded).toBe(0);
    }

    const t1 = Date.now();
    await rename(join(a.device.root, 'photos'), join(a.device.root, 'pictures'));
    const sentBefore = a.proxy.stats().bytes.up;
    const passA = await a.device.sync();
    const sent = a.proxy.stats().bytes.up - sentBefore;
    expect(passA.inSync).toBe(true);
    // One MOVE of the folder. (On a loaded machine the server may take longer than the
    // client's 30 s timeout to move 10,000 files: the retry then finds the move done and
    // the pass's next round records it, so `done.moveRemote` may read 0.)
    expect(passA.planned.filter((op) => op.kind === 'moveRemote')).toEqual([{ kind: 'moveRemote', path: 'photos', to: 'pictures', rule: 'localMoved', entryKind: 'dir' }]);
    expect(passA.execution.done.upload).toBe(0);
    expect(sent).toBeLessThan(MIB);

    const receivedBefore = b.proxy.stats().bytes.down;
    const passB = await b.device.sync();
    const received = b.proxy.stats().bytes.down - receivedBefore;
    expect(passB.inSync).toBe(true);
    expect(passB.execution.done.moveLocal).toBe(1);
    expect(passB.execution.done.download).toBe(0);
    expect(passB.execution.bytesDownloaded).toBe(0);
    // No file's content comes again. What does come is the change feed: a folder MOVE
    // lists each moved file twice (its tombstone and its new entry, some 180 bytes each),
    // about 3.6 MB here, far below the 10 MiB a re-download would take.
    expect(received).toBeLessThan((FOLDERS * FILES_PER_FOLDER * FILE_BYTES) / 2);

    const t2 = Date.now();
    const [treeA, treeB] = [await treeOf(a.device.root), await treeOf(b.device.root)];
    expect(Object.keys(treeB).filter((p) => p.startsWith('pictures/') && !p.endsWith('/'))).toHaveLength(FOLDERS * FILES_PER_FOLDER);
    expect(Object.keys(treeB).some((p) => p.startsWith('photos'))).toBe(false);
    expect(treeHash(treeB)).toBe(treeHash(treeA));
    console.info(`10,000-file rename: the renaming device sent ${sent} bytes, the other received ${received} bytes; first passes ${t1 - t0} ms, rename passes ${t2 - t1} ms, hashing both trees ${Date.now() - t2} ms`);
  }, 240_000);
});
