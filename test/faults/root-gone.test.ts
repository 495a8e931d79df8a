/**
 * Issue 9, "Faults to inject": the synced folder moved away, or unmounted, under a running
 * agent. The agent must not read the missing or empty folder as "everything was deleted":
 * nothing is deleted on the server or the other device, `fos status` says why the folder
 * is not synced, and once the folder is back everything converges with nothing lost.
 * The unmount case uses a real bind mount (skipped, saying why, where mounting is refused).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesOf, readTree } from '../../test-support/soak-ledger.js';
import type { Tree } from '../../test-support/soak-ledger.js';
import { delay, waitUntil } from '../../test-support/soak-procs.js';
import { World } from '../../test-support/soak-world.js';
import type { Device } from '../../test-support/soak-world.js';

const run = promisify(execFile);
const CONVERGE_MS = 90_000;
const root = await mkdtemp(join(tmpdir(), 'fos-faults-root-'));
/** Where beta's files really live; bind-mounted onto beta's folder. */
const backing = join(root, 'beta-backing');
const mountWhy = await probeBindMount();
let world: World;

/** Null when this process may bind-mount (Linux, root, not refused), else why not. */
async function probeBindMount(): Promise<string | null> {
  if (process.platform !== 'linux') return `bind mounts need Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return 'bind mounts need root';
  const from = join(root, 'probe-from');
  const to = join(root, 'probe-to');
  await mkdir(from, { recursive: true });
  await mkdir(to, { recursive: true });
  try {
    await run('mount', ['--bind', from, to]);
    await run('umount', [to]);
    return null;
  } catch (err) {
    return `mount --bind was refused: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

async function bindBeta(folder: string): Promise<void> {
  await run('mount', ['--bind', backing, folder]);
}

async function unbindBeta(folder: string): Promise<void> {
  await run('umount', [folder]);
}

beforeAll(async () => {
  await mkdir(backing, { recursive: true });
  world = await World.create({ root, startAgents: false });
  const [alpha, beta] = world.devices as [Device, Device];
  // beta's folder is a mount point: the agent syncs what the bind mount shows.
  if (mountWhy === null) await bindBeta(beta.folder);
  for (const device of world.devices) device.agent.start();
  for (let i = 0; i < 12; i++) await world.write(alpha, `docs/${i}.txt`, randomBytes(2000 + i));
  await world.checkpoint(CONVERGE_MS);
}, 120_000);

afterAll(async () => {
  await world?.close();
  if (mountWhy === null) {
    const beta = world?.devices[1];
    if (beta !== undefined) await run('umount', ['-l', beta.folder]).catch(() => undefined);
  }
  await rm(root, { recursive: true, force: true });
});

/** Every file of `before` is still where it was, with the same content. */
function missingFrom(before: Tree, after: Tree): string[] {
  return [...filesOf(before)].filter(([path, hash]) => after.get(path) !== hash).map(([path]) => path);
}

/** The guard message beta's agent reports, once it reports one. */
async function guardOf(device: Device): Promise<string> {
  const guard = await waitUntil(
    `${device.name} to report why it stopped`,
    async () => (await world.status(device))?.pairs.find((p) => p.guard !== null)?.guard ?? undefined,
    30_000,
    100,
  );
  return guard.message;
}

/** While `gone`'s folder is missing: `other` keeps working, and nothing is deleted anywhere. */
async function whileGone(gone: Device, other: Device, before: Tree, label: string): Promise<void> {
  await world.write(other, `new/${label}.txt`, randomBytes(3000));
  // Give both agents several passes (rescans, the change notice) to do something wrong.
  await delay(3000);
  const server = await world.listing();
  expect(server).not.toBeNull();
  expect(missingFrom(before, server as Tree)).toEqual([]);
  expect(missingFrom(before, await readTree(other.folder))).toEqual([]);
  expect(gone.agent.isRunning).toBe(true);
}

describe('the synced folder gone under a running agent', () => {
  it('moved away: nothing is deleted, status says the folder is missing, and moving it back resumes', async () => {
    const [alpha, beta] = world.devices as [Device, Device];
    const before = await world.checkpoint(CONVERGE_MS);
    const moved = `${alpha.folder}.moved`;
    await rename(alpha.folder, moved);
    expect(await guardOf(alpha)).toMatch(/folder missing/u);
    await whileGone(alpha, beta, before, 'moved');

    await rename(moved, alpha.folder);
    const tree = await world.checkpoint(CONVERGE_MS);
    expect(missingFrom(before, tree)).toEqual([]);
    expect(tree.has('new/moved.txt')).toBe(true);
    expect(await world.lost()).toEqual([]);
  }, 150_000);

  it.skipIf(mountWhy !== null)(`unmounted: the empty mount point is not read as deletions, and remounting resumes${mountWhy === null ? '' : ` (skipped: ${mountWhy})`}`, async () => {
    const [alpha, beta] = world.devices as [Device, Device];
    const before = await world.checkpoint(CONVERGE_MS);
    await unbindBeta(beta.folder);
    expect(await guardOf(beta)).toMatch(/folder identity changed/u);
    await whileGone(beta, alpha, before, 'unmounted');
    // Nothing was written into the bare mount point either.
    expect((await readTree(beta.folder)).size).toBe(0);

    await bindBeta(beta.folder);
    const tree = await world.checkpoint(CONVERGE_MS);
    expect(missingFrom(before, tree)).toEqual([]);
    expect(tree.has('new/unmounted.txt')).toBe(true);
    expect(await world.lost()).toEqual([]);
  }, 150_000);
});
