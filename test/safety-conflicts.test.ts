/**
 * Issue 11, "Done when" 3, at the engine level against a real server: the same conflict
 * arriving from three devices yields exactly one conflict copy (the `conflictAlreadyCopied`
 * rule), a conflict on a conflict copy is named after the original (never a copy of a
 * copy), and past `maxConflictCopies` a conflict is held and reported, not copied again.
 * Every version is hashed before and after: none is lost.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { contentsIn, openDevice, serverFiles, treeOf } from './support/sync-device.js';
import type { SyncDevice } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let users = 0;
let open: SyncDevice[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterEach(async () => {
  await Promise.all(open.map((d) => d.close(true)));
  open = [];
});

afterAll(async () => {
  await server?.dispose();
});

async function devices(names: readonly string[]): Promise<{ user: string; all: SyncDevice[] }> {
  users += 1;
  const user = `conflict${users}`;
  await addUser(server.dataDir, user, PASSWORD);
  const all: SyncDevice[] = [];
  for (const name of names) all.push(await openDevice({ host: server.host, port: server.port, user, password: PASSWORD, name }));
  open.push(...all);
  return { user, all };
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function copiesIn(tree: Record<string, string>): string[] {
  return Object.keys(tree).filter((p) => p.includes(' (conflict from ')).sort();
}

function filesOn(user: string): Promise<Record<string, string>> {
  return serverFiles(server, user, PASSWORD);
}

/** Every content found anywhere: the devices' folders and trash, the server's files and trash. */
function everywhere(user: string, all: readonly SyncDevice[]): Promise<Set<string>> {
  return contentsIn(
    [...all.map((d) => d.root), join(server.dataDir, 'uploads', user)],
    [...all.map((d) => join(d.stateDir, 'trash')), join(server.dataDir, 'trash')],
  );
}

/** Syncs every device in turn, `rounds` times. */
async function syncAll(all: readonly SyncDevice[], rounds = 2): Promise<number> {
  let conflicts = 0;
  for (let round = 0; round < rounds; round++) {
    for (const device of all) conflicts += (await device.sync()).execution.conflicts.length;
  }
  return conflicts;
}

async function expectConverged(all: readonly SyncDevice[]): Promise<Record<string, string>> {
  const first = await treeOf((all[0] as SyncDevice).root);
  for (const device of all.slice(1)) expect(await treeOf(device.root), device.name).toEqual(first);
  return first;
}

const VERSIONS = ['v0: the plan', 'v1: delta rewrote the plan', 'v2: the edit everyone got'] as const;

/**
 * Four devices in sync on `plan.txt` (v0); delta rewrites it (v1, on the server), while the
 * same edit (v2) reaches the other three (the same attachment saved on each, say).
 */
async function sameLosingEdit(): Promise<{ user: string; all: SyncDevice[]; losers: SyncDevice[] }> {
  const { user, all } = await devices(['alpha', 'beta', 'gamma', 'delta']);
  const [alpha, beta, gamma, delta] = all as [SyncDevice, SyncDevice, SyncDevice, SyncDevice];
  await writeFile(join(alpha.root, 'plan.txt'), VERSIONS[0]);
  await syncAll(all, 1);
  await writeFile(join(delta.root, 'plan.txt'), VERSIONS[1]);
  await delta.sync();
  const losers = [alpha, beta, gamma];
  for (const device of losers) await writeFile(join(device.root, 'plan.txt'), VERSIONS[2]);
  return { user, all, losers };
}

/** Every device and the server hold v1 under the name and v2 in exactly one copy; no version is lost. */
async function expectOneCopy(user: string, all: readonly SyncDevice[]): Promise<void> {
  const tree = await expectConverged(all);
  const copies = copiesIn(tree);
  expect(copies).toHaveLength(1);
  expect(copiesIn(await filesOn(user))).toEqual(copies);
  expect(tree['plan.txt']).toBe(sha(VERSIONS[1]));
  expect(tree[copies[0] as string]).toBe(sha(VERSIONS[2]));
  const found = await everywhere(user, all);
  for (const version of VERSIONS) expect(found.has(sha(version)), version).toBe(true);
}

describe('the same conflict from several devices', () => {
  it('three devices holding the same losing edit make exactly one conflict copy between them', async () => {
    const { user, all, losers } = await sameLosingEdit();
    let conflicts = 0;
    for (const device of losers) conflicts += (await device.sync()).execution.conflicts.length;
    conflicts += await syncAll(all);

    expect(conflicts).toBe(1);
    await expectOneCopy(user, all);
  });

  it('three devices syncing the same losing edit at the same moment end with exactly one conflict copy', async () => {
    const { user, all, losers } = await sameLosingEdit();
    await Promise.all(losers.map((d) => d.sync()));
    await syncAll(all, 3);
    await expectOneCopy(user, all);
  });

  it('a conflict on a conflict copy makes a sibling copy of the original, never a copy of a copy', async () => {
    const { user, all } = await devices(['alpha', 'beta', 'gamma']);
    const [alpha, beta, gamma] = all as [SyncDevice, SyncDevice, SyncDevice];
    await writeFile(join(alpha.root, 'notes.md'), 'base');
    await syncAll(all, 1);
    await writeFile(join(alpha.root, 'notes.md'), 'alpha edit');
    await writeFile(join(beta.root, 'notes.md'), 'beta edit');
    await alpha.sync();
    await beta.sync();
    await syncAll(all, 1);
    const [copy] = copiesIn(await treeOf(gamma.root));
    expect(copy).toBeDefined();
    // Now the copy itself is edited on two devices at once.
    await writeFile(join(beta.root, copy as string), 'beta edits the copy');
    await writeFile(join(gamma.root, copy as string), 'gamma edits the copy');
    await beta.sync();
    await gamma.sync();
    await syncAll(all);

    const tree = await expectConverged(all);
    const copies = copiesIn(tree);
    expect(copies).toHaveLength(2);
    for (const path of copies) {
      expect(path.split(' (conflict from ')).toHaveLength(2);
      expect(path.startsWith('notes (conflict from ')).toBe(true);
    }
    const found = await everywhere(user, all);
    for (const version of ['base', 'alpha edit', 'beta edit', 'beta edits the copy', 'gamma edits the copy']) expect(found.has(sha(version)), version).toBe(true);
  });

  it('past maxConflictCopies a conflict is held and reported, both versions stay, no further copy is made', async () => {
    const { user, all } = await devices(['alpha', 'beta']);
    const [alpha, beta] = all as [SyncDevice, SyncDevice];
    const reconcile = { maxConflictCopies: 2 };
    await writeFile(join(alpha.root, 'log.txt'), 'round 0');
    await alpha.sync({ reconcile });
    await beta.sync({ reconcile });
    const versions: string[] = ['round 0'];
    for (let round = 1; round <= 3; round++) {
      const [mine, theirs] = [`alpha round ${round}`, `beta round ${round}`];
      versions.push(mine, theirs);
      await writeFile(join(alpha.root, 'log.txt'), mine);
      await writeFile(join(beta.root, 'log.txt'), theirs);
      await alpha.sync({ reconcile });
      const pass = await beta.sync({ reconcile });
      await alpha.sync({ reconcile });
      if (round === 3) {
        expect(pass.execution.conflicts).toEqual([]);
        expect(pass.problems).toEqual([{ code: 'conflictCap', path: 'log.txt', copies: 2 }]);
        expect(pass.inSync).toBe(false);
      } else {
        expect(pass.execution.conflicts).toHaveLength(1);
      }
    }
    expect(copiesIn(await treeOf(alpha.root))).toHaveLength(2);
    expect(copiesIn(await filesOn(user))).toHaveLength(2);
    // Held: beta keeps its version under the name, the server keeps alpha's.
    expect(await readFile(join(beta.root, 'log.txt'), 'utf8')).toBe('beta round 3');
    expect((await filesOn(user))['log.txt']).toBe(sha('alpha round 3'));
    const found = await everywhere(user, all);
    for (const version of versions) expect(found.has(sha(version)), version).toBe(true);
  });
});
