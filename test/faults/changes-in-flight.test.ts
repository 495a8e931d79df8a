/**
 * Issue 9, "Faults to inject": a local file changed while it is being uploaded, and a
 * remote file changed while it is being downloaded. Transfers are slowed by the fault
 * proxy so the change lands mid-stream; while it runs every tree is polled for a file
 * under its final name holding a content nobody wrote (torn or mixed), and afterwards
 * both devices and the server converge on the newest content with nothing lost.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Violation } from '../../test-support/soak-ledger.js';
import { sha256 } from '../../test-support/soak-ledger.js';
import { delay, waitUntil } from '../../test-support/soak-procs.js';
import { World } from '../../test-support/soak-world.js';
import type { Device } from '../../test-support/soak-world.js';

const CONVERGE_MS = 90_000;
const BIG_BYTES = 6 * 1024 * 1024;
/** Slow enough that a 6 MiB transfer takes seconds, so the change lands in the middle. */
const SLOW = { bytesPerSec: 1024 * 1024 };
let root: string;
let world: World;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fos-faults-inflight-'));
  world = await World.create({ root });
}, 120_000);

afterAll(async () => {
  await world?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** Waits until the device's agent reports a transfer of `path` in `direction` under way. */
async function transferUnderWay(device: Device, path: string, direction: 'upload' | 'download'): Promise<void> {
  await waitUntil(
    `${device.name} to be ${direction}ing ${path}`,
    async () => {
      const status = await world.status(device);
      const t = status?.pairs.flatMap((p) => p.transfers).find((x) => x.path === path && x.direction === direction);
      return t !== undefined && t.bytes > 0 && t.bytes < t.total ? t : undefined;
    },
    30_000,
    20,
  );
}

/** Polls every tree for torn files until `done` settles; returns what it found. */
async function watchForTornFiles(done: Promise<unknown>): Promise<Violation[]> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  const found: Violation[] = [];
  while (!finished) {
    found.push(...(await world.halfWritten()));
    await delay(50);
  }
  found.push(...(await world.halfWritten()));
  return found;
}

/** Overwrites the middle of a file in place (as an editor saving over it would), same size. */
async function overwriteMiddle(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    await handle.write(randomBytes(bytes), 0, bytes, Math.floor(size / 2));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return readFile(path);
}

describe('a file changed while it is in flight', () => {
  it('changed locally during its upload: the server never keeps a mix, and ends with the new content', async () => {
    const [alpha, beta] = world.devices as [Device, Device];
    alpha.proxy.setFaults(SLOW);
    const first = randomBytes(BIG_BYTES);
    await world.write(alpha, 'up/changing.bin', first);
    await transferUnderWay(alpha, 'up/changing.bin', 'upload');

    const changed = await overwriteMiddle(join(alpha.folder, 'up/changing.bin'), 64 * 1024);
    world.ledger.add(changed);
    alpha.proxy.clearFaults();
    const torn = await watchForTornFiles(world.converge(CONVERGE_MS));
    expect(torn).toEqual([]);

    const tree = await world.checkpoint(CONVERGE_MS);
    expect(tree.get('up/changing.bin')).toBe(sha256(changed));
    expect(sha256(await readFile(join(beta.folder, 'up/changing.bin')))).toBe(sha256(changed));
    expect([...tree.keys()].filter((p) => p.includes('conflict'))).toEqual([]);
    expect(await world.lost()).toEqual([]);
  }, 150_000);

  it('changed on the server during its download: the device never shows a mix, and ends with the new content', async () => {
    const [alpha, beta] = world.devices as [Device, Device];
    const first = randomBytes(BIG_BYTES);
    await world.write(alpha, 'down/changing.bin', first);
    beta.proxy.setFaults(SLOW);
    await transferUnderWay(beta, 'down/changing.bin', 'download');

    // A new version commits on the server while beta is still reading the old one.
    const second = randomBytes(BIG_BYTES);
    await world.write(alpha, 'down/changing.bin', second);
    await waitUntil(
      'the new version on the server',
      async () => ((await world.listing())?.get('down/changing.bin') === sha256(second) ? true : undefined),
      30_000,
      50,
    );
    beta.proxy.clearFaults();
    const torn = await watchForTornFiles(world.converge(CONVERGE_MS));
    expect(torn).toEqual([]);

    const tree = await world.checkpoint(CONVERGE_MS);
    expect(tree.get('down/changing.bin')).toBe(sha256(second));
    expect([...tree.keys()].filter((p) => p.includes('conflict'))).toEqual([]);
    expect(await world.lost()).toEqual([]);
  }, 150_000);
});
