/**
 * Issue 11, "Restore a folder to a moment": `fos restore DIR --at TIME` against a real
 * server and two real sync devices (engine level). The tree recorded at a moment comes
 * back on the server and on both devices, checked by hashing every file; what was added
 * since is in the server's trash; a dry run changes nothing; paths outside DIR stay; a
 * restore is undone by restoring to a moment before it. RESTORE's refusals and its
 * unrecoverable versions are checked through the client library.
 */
import { mkdir, mkdtemp, readdir, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool } from '../src/client/index.js';
import type { RestoreReport } from '../src/client/index.js';
import { addUser, runFos, startServer } from './support/server.js';
import type { RunResult, TestServer } from './support/server.js';
import { openDevice, treeOf } from './support/sync-device.js';
import type { SyncDevice } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
const DEADLINE_MS = 10_000;
let server: TestServer;
let scratch: string;
let users = 0;

beforeAll(async () => {
  server = await startServer({ args: ['--trash-days', '7'] });
  scratch = await mkdtemp(join(tmpdir(), 'fos-restore-'));
});

afterAll(async () => {
  await server?.dispose();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function newUser(): Promise<string> {
  users += 1;
  const user = `restorer${users}`;
  await addUser(server.dataDir, user, PASSWORD);
  return user;
}

/** `fos ARGS` as `user`, with a config of its own in the scratch folder. */
function fos(user: string, args: readonly string[]): Promise<RunResult> {
  return runFos(args, '', {
    FOS_SERVER: `${server.host}:${server.port}`,
    FOS_USER: user,
    FOS_PASSWORD: PASSWORD,
    FOS_CONFIG: join(scratch, `${user}.json`),
    HOME: scratch,
  });
}

/** `fos restore … --json`, checked to exit 0 and parsed. */
async function restore(user: string, dir: string, at: number, ...extra: string[]): Promise<RestoreReport> {
  const result = await fos(user, ['restore', dir, '--at', new Date(at).toISOString(), '--json', ...extra]);
  expect(result.code, result.stderr).toBe(0);
  const report: unknown = JSON.parse(result.stdout);
  return report as RestoreReport;
}

function poolFor(user: string): ClientPool {
  return new ClientPool({ address: { host: server.host, port: server.port }, credentials: { kind: 'password', user, password: PASSWORD }, size: 1 });
}

/** Runs `fn` with a new account, a client pool logged in to it and a local scratch folder. */
async function withAccount(fn: (user: string, pool: ClientPool, local: string) => Promise<void>): Promise<void> {
  const user = await newUser();
  const local = join(scratch, `${user}-files`);
  await mkdir(local, { recursive: true });
  const pool = poolFor(user);
  try {
    await fn(user, pool, local);
  } finally {
    await pool.close();
  }
}

/** Runs `fn` with a new account and two sync devices of it, closed (and removed) after. */
async function withTwoDevices(fn: (user: string, a: SyncDevice, b: SyncDevice) => Promise<void>): Promise<void> {
  const user = await newUser();
  const common = { host: server.host, port: server.port, user, password: PASSWORD, parent: scratch };
  const a = await openDevice({ ...common, name: 'laptop' });
  const b = await openDevice({ ...common, name: 'desktop' });
  try {
    await fn(user, a, b);
  } finally {
    await a.close(true);
    await b.close(true);
  }
}

/** A moment strictly after every commit so far: waits (polling) until the clock has passed it. */
async function moment(): Promise<number> {
  const at = Date.now();
  const deadline = at + DEADLINE_MS;
  while (Date.now() <= at + 1) {
    if (Date.now() > deadline) throw new Error('the clock did not move');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return at;
}

async function write(device: SyncDevice, path: string, content: string | Buffer): Promise<void> {
  const target = join(device.root, path);
  await mkdir(join(target, '..'), { recursive: true });
  await writeFile(target, content);
}

/** The part of a tree at and under `folder/`. */
function under(tree: Record<string, string>, folder: string): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).filter(([path]) => path.startsWith(`${folder}/`)));
}

/** The server's copy of a user's folder, described like a device's. */
function serverTree(user: string): Promise<Record<string, string>> {
  return treeOf(join(server.dataDir, 'uploads', user));
}

/** Syncs both devices in turn until a round changes nothing on either. */
async function settle(a: SyncDevice, b: SyncDevice): Promise<void> {
  for (let round = 0; round < 5; round += 1) {
    const passes = [await a.sync(), await b.sync()];
    if (passes.every((pass) => pass.inSync && pass.planned.length === 0)) return;
  }
  throw new Error('the devices did not settle in 5 rounds');
}

describe('fos restore with two devices', () => {
  // Five `fos` processes and a dozen sync passes: generous on a loaded machine.
  it('returns a folder to a recorded moment on the server and both devices; a dry run changes nothing; a restore can be undone', { timeout: 180_000 }, async () => {
    await withTwoDevices(async (user, a, b) => {
      await write(a, 'proj/a.txt', 'alpha');
      await write(a, 'proj/b.txt', 'bravo');
      await write(a, 'proj/keep.txt', 'kept as it is');
      await write(a, 'proj/to-rename.txt', 'renamed later');
      await write(a, 'proj/sub/c.txt', 'charlie');
      await write(a, 'proj/sub/deep/d.bin', Buffer.alloc(300_000, 7));
      await write(a, 'proj/sub/e.txt', 'echo');
      await write(a, 'other/o.txt', 'outside, before');
      await settle(a, b);
      const recorded = under(await treeOf(a.root), 'proj');
      expect(under(await treeOf(b.root), 'proj')).toEqual(recorded);
      const at = await moment();

      // Edit, delete, add, rename, overwrite, on both devices, and outside the folder.
      await write(a, 'proj/a.txt', 'alpha, edited');
      await unlink(join(b.root, 'proj/b.txt'));
      await write(a, 'proj/new.txt', 'added after the moment');
      await write(a, 'proj/newdir/n.txt', 'also added after');
      await rename(join(a.root, 'proj/to-rename.txt'), join(a.root, 'proj/renamed.txt'));
      await write(b, 'proj/sub/deep/d.bin', Buffer.alloc(200_000, 9));
      await write(a, 'other/o.txt', 'outside, after');
      await settle(a, b);
      const edited = await treeOf(a.root);
      expect(await treeOf(b.root)).toEqual(edited);
      expect(under(edited, 'proj')).not.toEqual(recorded);
      const beforeRestore = await moment();

      const pool = poolFor(user);
      try {
        const listing = () => pool.run((client) => client.list('', { recursive: true }));
        const listed = await listing();

        const dry = await restore(user, 'proj', at, '--dry-run');
        expect(dry).toMatchObject({ dryRun: true, rev: null, restored: 4, deleted: 4, created: 0, unrecoverable: 0 });
        expect(dry.steps.map((s) => `${s.action} ${s.path}`)).toEqual([
          'restore proj/a.txt',
          'restore proj/b.txt',
          'delete proj/new.txt',
          'delete proj/newdir',
          'delete proj/newdir/n.txt',
          'delete proj/renamed.txt',
          'restore proj/sub/deep/d.bin',
          'restore proj/to-rename.txt',
        ]);
        expect(await listing()).toEqual(listed);
        expect(await serverTree(user)).toEqual(edited);

        const done = await restore(user, 'proj', at);
        expect(done).toMatchObject({ dryRun: false, restored: 4, deleted: 4, created: 0, unchanged: 6, unrecoverable: 0 });
        expect(done.rev).toBe(listed.rev + 1);
        expect(done.steps).toEqual(dry.steps);
        await settle(a, b);
        for (const tree of [await treeOf(a.root), await treeOf(b.root), await serverTree(user)]) {
          expect(under(tree, 'proj')).toEqual(recorded);
          expect(under(tree, 'other')).toEqual(under(edited, 'other'));
        }

        // What was there before the restore is in the server's trash.
        const trash = await pool.run((client) => client.trash('proj'));
        const kept = (path: string): string[] => trash.filter((item) => item.path === path).map((item) => item.sha256);
        for (const path of ['proj/new.txt', 'proj/newdir/n.txt', 'proj/renamed.txt', 'proj/a.txt', 'proj/sub/deep/d.bin']) {
          expect(kept(path)).toContain(edited[path]);
        }

        // Restoring to the same moment again changes nothing.
        expect(await restore(user, 'proj', at)).toMatchObject({ rev: null, steps: [] });

        // Undone: back to the moment before the restore.
        const undone = await restore(user, 'proj', beforeRestore);
        expect(undone).toMatchObject({ unrecoverable: 0 });
        await settle(a, b);
        for (const tree of [await treeOf(a.root), await treeOf(b.root), await serverTree(user)]) expect(tree).toEqual(edited);
      } finally {
        await pool.close();
      }
    });
  });
});

describe('fos restore and the mass-delete guard', () => {
  it('a restore that removes most of a folder reaches the devices: its deletions are recorded as approved, not held', { timeout: 120_000 }, async () => {
    await withTwoDevices(async (user, a, b) => {
      await write(a, 'import/kept-1.txt', 'one');
      await write(a, 'import/kept-2.txt', 'two');
      await settle(a, b);
      const at = await moment();
      for (let i = 0; i < 8; i += 1) await write(a, `import/later-${i}.txt`, `imported ${i}`);
      await settle(a, b);
      expect(Object.keys(await treeOf(b.root)).filter((path) => !path.endsWith('/'))).toHaveLength(10);

      const done = await restore(user, 'import', at);
      expect(done).toMatchObject({ deleted: 8, restored: 0 });
      // 8 of 10 files go: more than the guard's half, yet they are a person's decision.
      for (const device of [a, b]) {
        const pass = await device.sync();
        expect(pass.guard).toBeNull();
        expect(pass.held).toEqual([]);
        expect(Object.keys(await treeOf(device.root)).sort()).toEqual(['import/', 'import/kept-1.txt', 'import/kept-2.txt']);
      }
      const listed = await fos(user, ['deletions', 'list', '--all', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual([
        expect.objectContaining({ device: 'fos restore', folder: 'import', side: 'remote', state: 'approved', count: 8, commitRev: done.rev }),
      ]);
    });
  });
});

describe('RESTORE at the protocol level', () => {
  it('dates a kept version by its commit, not by the uploader’s mtime, and a MOVE keeps the old name’s version', async () => {
    await withAccount(async (_user, pool, local) => {
      await writeFile(join(local, 'old'), 'made long ago');
      await utimes(join(local, 'old'), new Date('2001-01-01T00:00:00Z'), new Date('2001-01-01T00:00:00Z'));
      const before = Date.now();
      await pool.run((client) => client.upload(join(local, 'old'), 'a.txt'));
      await pool.run((client) => client.move('a.txt', 'b.txt'));
      const [kept] = await pool.run((client) => client.trash('a.txt'));
      expect(kept).toMatchObject({ path: 'a.txt', mtimeMs: Date.parse('2001-01-01T00:00:00Z') });
      expect(kept?.validFrom).toBeGreaterThanOrEqual(before);
      expect(kept?.trashedAt).toBeGreaterThanOrEqual(kept?.validFrom ?? Number.POSITIVE_INFINITY);
      // The moved file is still whole under its new name.
      expect(await pool.run((client) => client.stat('b.txt'))).toMatchObject({ sha256: kept?.sha256 });
    });
  });

  it('refuses hostile paths with BAD_PATH, on the wire and on the command line', async () => {
    await withAccount(async (user, pool) => {
      const at = Date.now() - 1_000;
      for (const path of ['../x', 'a/../../x', '/etc', 'a\\b', 'a\u0000b', 'C:/x', 'a//b', './a']) {
        await expect(pool.run((client) => client.restore(path, at)), path).rejects.toMatchObject({ code: 'FOS_ERR_PATH_BAD' });
      }
      const cli = await fos(user, ['restore', '../x', '--at', '1h']);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toContain('FOS_ERR_PATH_BAD');
    });
  });

  // Four `fos` processes: generous on a loaded machine.
  it('refuses ambiguous, future and too old moments with exit 2, says why, and notes a folder with nothing then or now', { timeout: 120_000 }, async () => {
    await withAccount(async (user, pool) => {
      const bare = await fos(user, ['restore', 'docs', '--at', '1764000000']);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toMatch(/ambiguous/);
      const future = await fos(user, ['restore', 'docs', '--at', new Date(Date.now() + 3_600_000).toISOString()]);
      expect(future.code).toBe(2);
      expect(future.stderr).toMatch(/future/);
      // The server keeps 7 days of trash here.
      const old = await fos(user, ['restore', 'docs', '--at', '8d']);
      expect(old.code).toBe(2);
      expect(old.stderr).toMatch(/retention window \(7 days\)/);
      const nothing = await fos(user, ['restore', 'no-such-folder', '--at', '1h']);
      expect(nothing.code).toBe(0);
      expect(nothing.stderr).toContain('nothing at no-such-folder, then or now');
      const refused = { code: 'FOS_ERR_PROTO_BAD_REQUEST' };
      await expect(pool.run((client) => client.restore('docs', Date.now() + 60_000))).rejects.toMatchObject({ ...refused, details: { reason: 'future' } });
      await expect(pool.run((client) => client.restore('docs', Date.now() - 8 * 86_400_000))).rejects.toMatchObject({ ...refused, details: { reason: 'retention' } });
    });
  });

  it('reports a version whose file left the trash and leaves the current file alone (exit 4)', async () => {
    await withAccount(async (user, pool, local) => {
      await writeFile(join(local, 'v1'), 'version one');
      await writeFile(join(local, 'v2'), 'version two');
      await writeFile(join(local, 'other'), 'other one');
      await pool.run((client) => client.upload(join(local, 'v1'), 'docs/x.txt'));
      await pool.run((client) => client.upload(join(local, 'other'), 'docs/y.txt'));
      const at = await moment();
      await pool.run((client) => client.upload(join(local, 'v2'), 'docs/x.txt'));
      await pool.run((client) => client.upload(join(local, 'v2'), 'docs/y.txt'));
      // Someone removes x's old version from the trash by hand.
      const [lost] = (await pool.run((client) => client.trash('docs/x.txt'))).filter((item) => item.path === 'docs/x.txt');
      expect(lost).toBeDefined();
      await unlink(join(server.dataDir, 'trash', user, lost?.id ?? ''));

      const dry = await pool.run((client) => client.restore('docs', at, { dryRun: true }));
      expect(dry.steps.map((s) => `${s.action} ${s.path}`)).toEqual(['unrecoverable docs/x.txt', 'restore docs/y.txt']);
      const result = await fos(user, ['restore', 'docs', '--at', new Date(at).toISOString()]);
      expect(result.code).toBe(4);
      expect(result.stdout).toMatch(/missing +docs\/x\.txt/);
      expect(result.stderr).toMatch(/1 version is no longer in the server's trash/);
      const tree = await serverTree(user);
      expect(tree['docs/x.txt']).toBe((await treeOf(local))['v2']);
      expect(tree['docs/y.txt']).toBe((await treeOf(local))['other']);
    });
  });

  it('turns a folder back into a file and a file back into a folder, and creates the folders above', async () => {
    await withAccount(async (user, pool, local) => {
      await writeFile(join(local, 'f'), 'a file');
      await pool.run((client) => client.upload(join(local, 'f'), 'top/deep/x'));
      await pool.run((client) => client.upload(join(local, 'f'), 'top/deep/y/inner'));
      const recorded = await serverTree(user);
      const at = await moment();
      await pool.run((client) => client.delete('top', { recursive: true }));
      await pool.run((client) => client.upload(join(local, 'f'), 'top/deep/x/now-inside'));
      await pool.run((client) => client.upload(join(local, 'f'), 'top/deep/y'));
      const report = await pool.run((client) => client.restore('top/deep', at));
      expect(report.steps.map((s) => `${s.action} ${s.path}`)).toEqual([
        'restore top/deep/x',
        'delete top/deep/x/now-inside',
        'mkdir top/deep/y',
        'restore top/deep/y/inner',
      ]);
      expect(await serverTree(user)).toEqual(recorded);
      // Everything above top/deep is gone: the restore creates it again.
      await pool.run((client) => client.delete('top', { recursive: true }));
      await pool.run((client) => client.restore('top/deep', at));
      expect(await serverTree(user)).toEqual(recorded);
      const listed = await pool.run((client) => client.list('', { recursive: true }));
      expect(listed.entries.map((e) => e.path)).toEqual(['top', 'top/deep', 'top/deep/x', 'top/deep/y', 'top/deep/y/inner']);
      // Nothing of the restore's own work folder is left behind.
      expect(await readdir(join(server.dataDir, 'tmp', user)).catch(() => [])).toEqual([]);
    });
  });
});
