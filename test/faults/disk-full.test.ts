/**
 * Issue 9, "Done when" 3: a full disk, on a real small filesystem (a tmpfs mounted for the
 * test; the tests skip, saying why, where mounting is not allowed). On the server: the
 * upload fails with a clear error, the server keeps serving reads, nothing is lost or
 * corrupted, and the sync completes once space returns. On an agent: downloads fail
 * cleanly, no partial file appears under its final name, and the sync completes later.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosClient } from '../../src/client/index.js';
import { FosError } from '../../src/errors.js';
import { readTree } from '../../test-support/soak-ledger.js';
import { waitUntil } from '../../test-support/soak-procs.js';
import { World } from '../../test-support/soak-world.js';
import type { Device } from '../../test-support/soak-world.js';
import { mountTmpfs } from './tmpfs.js';
import type { Tmpfs } from './tmpfs.js';

const CONVERGE_MS = 90_000;
const root = await mkdtemp(join(tmpdir(), 'fos-faults-disk-'));
const serverFs = await mountTmpfs(join(root, 'server-fs'), 24 * 1024 * 1024);
const agentFs = typeof serverFs === 'string' ? serverFs : await mountTmpfs(join(root, 'agent-fs'), 8 * 1024 * 1024);
const skipWhy = typeof serverFs === 'string' ? serverFs : typeof agentFs === 'string' ? agentFs : null;
let world: World;

function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The path errors a device's agent reports in its status. */
async function pathErrors(device: Device): Promise<{ path: string; code: string; message: string }[]> {
  const status = await world.status(device);
  return status?.pairs.flatMap((p) => p.errors.map((e) => ({ path: e.path, code: e.code, message: e.message }))) ?? [];
}

beforeAll(async () => {
  if (skipWhy !== null || typeof serverFs === 'string' || typeof agentFs === 'string') return;
  world = await World.create({
    root,
    dataDir: join(serverFs.dir, 'data'),
    folderOf: (name, home) => (name === 'beta' ? join(agentFs.dir, 'folder') : join(home, 'folder')),
  });
  const [alpha] = world.devices;
  if (alpha === undefined) throw new Error('no device');
  for (let i = 0; i < 4; i++) await world.write(alpha, `kept/${i}.bin`, randomBytes(100_000));
  await world.checkpoint(CONVERGE_MS);
}, 120_000);

afterAll(async () => {
  await world?.close();
  for (const fs of [serverFs, agentFs]) if (typeof fs !== 'string') await fs.unmount();
  await rm(root, { recursive: true, force: true });
});

describe.skipIf(skipWhy !== null)(`disk full on a real tmpfs${skipWhy === null ? '' : ` (skipped: ${skipWhy})`}`, () => {
  it('on the server: the upload fails with a clear error, reads go on, and the sync completes once space returns', async () => {
    const fs = serverFs as Tmpfs;
    const [alpha, beta] = world.devices as [Device, Device];
    await fs.fill(64 * 1024);

    const big = randomBytes(2 * 1024 * 1024);
    await world.write(alpha, 'big-while-full.bin', big);
    // The wire carries a full disk as QUOTA (errors.ts); the message says what happened.
    const reported = await waitUntil(
      'the agent to report the full disk',
      async () => (await pathErrors(alpha)).find((e) => e.path === 'big-while-full.bin' && /no space left/u.test(e.message)),
      30_000,
      250,
    );
    expect(['FOS_ERR_STORE_NO_SPACE', 'FOS_ERR_STORE_QUOTA']).toContain(reported.code);

    // Devices still log in with their tokens and read while the disk is full.
    const token = (await readFile(join(beta.state, 'token'), 'utf8')).trim();
    const device = await FosClient.connect({ address: { host: '127.0.0.1', port: world.server.port }, credentials: { kind: 'token', token } });
    try {
      expect((await device.list('kept')).entries.length).toBe(4);
    } finally {
      await device.quit();
    }

    const uploader = await world.connect();
    const local = join(root, 'direct-upload.bin');
    await writeFile(local, randomBytes(1024 * 1024));
    const refused = await uploader.upload(local, 'direct.bin').then(
      () => null,
      (err: unknown) => err,
    );
    // An ERR in mid-stream ends that connection (docs/protocol.md "Upload"): frames in
    // flight could not be told from requests. Reads go on over a new one.
    await uploader.close();
    expect(refused).toBeInstanceOf(FosError);
    expect(['FOS_ERR_STORE_NO_SPACE', 'FOS_ERR_STORE_QUOTA']).toContain((refused as FosError).code);
    expect((refused as FosError).message).toMatch(/no space/u);

    const client = await world.connect();
    try {
      const target = join(root, 'read-back.bin');
      await client.download('kept/1.bin', target);
      expect(sha(await readFile(target))).toBe(sha(await readFile(join(beta.folder, 'kept/1.bin'))));
    } finally {
      await client.quit();
    }
    expect(await world.halfWritten()).toEqual([]);
    expect((await readTree(world.serverFiles)).has('big-while-full.bin')).toBe(false);

    await fs.free();
    const tree = await world.checkpoint(CONVERGE_MS);
    expect(tree.get('big-while-full.bin')).toBe(sha(big));
    expect(await world.lost()).toEqual([]);
  }, 150_000);

  it('on an agent: the download fails cleanly, nothing partial under the final name, done once space returns', async () => {
    const fs = agentFs as Tmpfs;
    const [alpha, beta] = world.devices as [Device, Device];
    await fs.fill(32 * 1024);

    const big = randomBytes(1536 * 1024);
    await world.write(alpha, 'big-for-beta.bin', big);
    const reported = await waitUntil(
      'beta to report the failed download',
      async () => (await pathErrors(beta)).find((e) => e.path === 'big-for-beta.bin'),
      30_000,
      250,
    );
    expect(reported.message).toMatch(/no space|ENOSPC/u);
    for (let i = 0; i < 5; i++) {
      expect((await readTree(beta.folder)).has('big-for-beta.bin')).toBe(false);
      expect(await world.halfWritten()).toEqual([]);
    }
    expect(beta.agent.isRunning).toBe(true);

    await fs.free();
    const tree = await world.checkpoint(CONVERGE_MS);
    expect(tree.get('big-for-beta.bin')).toBe(sha(big));
    expect(await world.lost()).toEqual([]);
  }, 150_000);
});
