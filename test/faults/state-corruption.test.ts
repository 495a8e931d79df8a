/**
 * Issue 9: state damaged by a crash. An agent's manifest that no longer parses, and a
 * server database from a crashed machine (its write-ahead log cut short, or missing as
 * when fos.db alone is copied), are detected and said so in the logs; the program
 * recovers by rescanning, both devices and the server converge, and nothing is deleted.
 */
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../test-support/soak-procs.js';
import { filesOf } from '../../test-support/soak-ledger.js';
import type { Tree } from '../../test-support/soak-ledger.js';
import { World } from '../../test-support/soak-world.js';

const CONVERGE_MS = 90_000;
let root: string;
let world: World;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fos-faults-state-'));
  world = await World.create({ root });
}, 120_000);

afterAll(async () => {
  await world?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** Every file of `before` is still there with the same content. */
function expectNothingDeleted(before: Tree, after: Tree): void {
  const missing = [...filesOf(before)].filter(([path, hash]) => after.get(path) !== hash).map(([path]) => path);
  expect(missing).toEqual([]);
}

describe('damaged state', () => {
  it('moves a corrupt manifest aside, says so, rescans, and deletes nothing', async () => {
    const [alpha, beta] = world.devices;
    if (alpha === undefined || beta === undefined) throw new Error('no devices');
    for (let i = 0; i < 8; i++) await world.write(i % 2 === 0 ? alpha : beta, `m/${i}.txt`, Buffer.from(`manifest case ${i}`));
    const before = await world.checkpoint(CONVERGE_MS);
    // The agent writes its manifest in batches: wait for one on disk.
    const manifest = await waitUntil('a manifest on disk', async () => (await readdir(alpha.state)).find((name) => name.endsWith('.manifest.json')), 20_000);
    await alpha.agent.kill();
    const text = await readFile(join(alpha.state, manifest), 'utf8');
    await writeFile(join(alpha.state, manifest), text.slice(0, Math.floor(text.length / 2)));
    const mark = alpha.agent.records().length;
    alpha.agent.start();
    const said = await waitUntil(
      'the agent to say the manifest was corrupt',
      () => alpha.agent.records().slice(mark).find((r) => typeof r['msg'] === 'string' && /manifest/u.test(r['msg']) && r['level'] === 40),
      30_000,
    );
    expect(JSON.stringify(said)).toMatch(/corrupt/u);
    expect((await readdir(alpha.state)).some((name) => name.startsWith(`${manifest}.corrupt-`))).toBe(true);
    const after = await world.checkpoint(CONVERGE_MS);
    expectNothingDeleted(before, after);
    expect([...after.keys()].filter((path) => path.includes('conflict'))).toEqual([]);
    expect(await world.lost()).toEqual([]);
  }, 150_000);

  for (const damage of ['a write-ahead log cut short', 'fos.db copied without its write-ahead log'] as const) {
    it(`recovers from ${damage}: the server reconciles its disk, the agents resync, nothing is deleted`, async () => {
      const [alpha, beta] = world.devices;
      if (alpha === undefined || beta === undefined) throw new Error('no devices');
      const tag = damage.length;
      // A clean stop first, so that the accounts and device tokens are in fos.db itself:
      // the damage then takes only the file history written after it, as a crash would.
      await world.server.stop();
      await world.restartServer();
      for (let i = 0; i < 6; i++) await world.write(i % 2 === 0 ? alpha : beta, `db${tag}/${i}.txt`, Buffer.from(`${damage} ${i}`));
      const before = await world.checkpoint(CONVERGE_MS);
      // From here on: an agent may notice the lost history as soon as the server is back.
      const marks = world.devices.map((d) => d.agent.records().length);
      await world.server.kill();
      const wal = join(world.server.dataDir, 'fos.db-wal');
      const walBytes = (await stat(wal).catch(() => null))?.size ?? 0;
      if (damage === 'a write-ahead log cut short') await truncate(wal, Math.floor(walBytes / 2));
      else await rm(wal, { force: true });
      await rm(join(world.server.dataDir, 'fos.db-shm'), { force: true });
      const serverMark = world.server.records().length;
      await world.restartServer();
      expect(world.server.records().slice(serverMark).some((r) => r['msg'] === 'listening')).toBe(true);

      // Both devices keep working after the server lost part of its history.
      await world.write(alpha, `db${tag}/after-alpha.txt`, Buffer.from(`${damage}: alpha after`));
      await world.write(beta, `db${tag}/after-beta.txt`, Buffer.from(`${damage}: beta after`));
      const after = await world.checkpoint(CONVERGE_MS);
      expectNothingDeleted(before, after);
      expect(after.has(`db${tag}/after-alpha.txt`) && after.has(`db${tag}/after-beta.txt`)).toBe(true);
      expect(await world.lost()).toEqual([]);
      if (walBytes > 0) {
        // The agents noticed that the server's history went back, and said so.
        const said = world.devices.map((d, i) => d.agent.records().slice(marks[i]).some((r) => /history went back/u.test(String(r['msg']))));
        expect(said).toEqual([true, true]);
      }
    }, 150_000);
  }
});
