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
import { FosClient } from '../src/client/index.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { contentsIn, openDevice, treeOf } from './support/sync-device.js';
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

/** The server's live files, `path → sha256`. */
async function serverFiles(user: string): Promise<Record<string, string>> {
  const client = await FosClient.connect({ address: { host: server.host, port: server.port }, credentials: { kind: 'password', user, password: PASSWORD } });
  try {
    const listing = await client.list('', { recursive: true });
    return Object.fromEntries(listing.entries.filter((e) => !e.deleted && e.kind === 'file').map((e) => [e.path, e.sha256]));
  } finally {
    await client.quit();
  }
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

describe('the same conflict from several devices', () => {
  it('three devices holding the same losing edit make exactly one conflict copy between them', async () => {
    const { user, all } = await devices(['alpha', 'beta', 'gamma', 'delta']);
    const [alpha, beta, gamma, delta] = all as [SyncDevice, SyncDevice, SyncDevice, SyncDevice];
    await writeFile(join(alpha.root, 'plan.txt'), 'v0: the plan');
    await syncAll(all, 1);
    await writeFile(join(delta.root, 'plan.txt'), 'v1: delta rewrote the plan');
    await delta.sync();
    // The same edit reaches three devices (the same attachment saved on each, say).
    for (const device of [alpha, beta, gamma]) await writeFile(join(device.root, 'plan.txt'), 'v2: the edit everyone got');
    let conflicts = 0;
    for (const device of [alpha, beta, gamma]) conflicts += (await device.sync()).execution.conflicts.length;
    conflicts += await syncAll(all);

    expect(conflicts).toBe(1);
    const tree = await expectConverged(all);
    const copies = copiesIn(tree);
    expect(copies).toHaveLength(1);
    expect(copiesIn(await serverFiles(user))).toEqual(copies);
    expect(await readFile(join(beta.root, 'plan.txt'), 'utf8')).toBe('v1: delta rewrote the plan');
    expect(await readFile(join(gamma.root, copies[0] as string), 'utf8')).toBe('v2: the edit everyone got');
    const found = await everywhere(user, all);
    for (const version of ['v0: the plan', 'v1: delta rewrote the plan', 'v2: the edit everyone got']) expect(found.has(sha(version)), version).toBe(true);
  });

  it('three devices syncing the same losing edit at the same moment end with exactly one conflict copy', async () => {
    const { user, all } = await devices(['alpha', 'beta', 'gamma', 'delta']);
    const [alpha, beta, gamma, delta] = all as [SyncDevice, SyncDevice, SyncDevice, SyncDevice];
    await writeFile(join(alpha.root, 'plan.txt'), 'v0: the plan');
    await syncAll(all, 1);
    await writeFile(join(delta.root, 'plan.txt'), 'v1: delta rewrote the plan');
    await delta.sync();
    for (const device of [alpha, beta, gamma]) await writeFile(join(device.root, 'plan.txt'), 'v2: the edit everyone got');
    await Promise.all([alpha, beta, gamma].map((d) => d.sync()));
    await syncAll(all, 3);

    const tree = await expectConverged(all);
    expect(copiesIn(tree)).toHaveLength(1);
    expect(copiesIn(await serverFiles(user))).toHaveLength(1);
    expect(tree['plan.txt']).toBe(sha('v1: delta rewrote the plan'));
    expect(tree[copiesIn(tree)[0] as string]).toBe(sha('v2: the edit everyone got'));
    const found = await everywhere(user, all);
    for (const version of ['v0: the plan', 'v1: delta rewrote the plan', 'v2: the edit everyone got']) expect(found.has(sha(version)), version).toBe(true);
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
    expect(copiesIn(await serverFiles(user))).toHaveLength(2);
    // Held: beta keeps its version under the name, the server keeps alpha's.
    expect(await readFile(join(beta.root, 'log.txt'), 'utf8')).toBe('beta round 3');
    expect((await serverFiles(user))['log.txt']).toBe(sha('alpha round 3'));
    const found = await everywhere(user, all);
    for (const version of versions) expect(found.has(sha(version)), version).toBe(true);
  });
});
