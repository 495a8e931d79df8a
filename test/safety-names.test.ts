/**
 * Issue 11, "Done when" 5: the case and NFC/NFD matrix against a real server. Device A is
 * case-sensitive (an engine-level device); device B runs `fos agent` on a case-insensitive
 * folder. Names from the server that would be one name on B, names on B's disk that are
 * one name, and `é` as NFC and NFD on either side: nothing is overwritten or deleted for
 * it, every version written is still somewhere afterwards (by hash), and a collision shows
 * in `fos status` under `problems` until it is resolved.
 *
 * A real case-insensitive folder is used when the machine can make one (tmpfs with
 * `casefold` on Linux 6.13 and later, or an ext4 image made with `-O casefold`, both as
 * root and with a kernel built with CONFIG_UNICODE); otherwise B's folder is an ordinary
 * one with the agent's per-folder `caseInsensitive` setting, and the test title says so.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socketPath } from '../src/agent/status-file.js';
import { queryStatus } from '../src/agent/status-socket.js';
import type { PairStatus } from '../src/agent/status-types.js';
import { PairWorker } from '../src/agent/pair-worker.js';
import { systemClock } from '../src/client/index.js';
import { createLogger } from '../src/log/logger.js';
import type { Problem } from '../src/sync/types.js';
import { tuneAgent } from '../test-support/soak-world.js';
import { initDevice, spawnAgent, waitFor } from './support/agent-process.js';
import type { AgentDevice, AgentProcess } from './support/agent-process.js';
import { addUser, runFos, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { contentsIn, openDevice, serverFiles, treeOf } from './support/sync-device.js';
import type { SyncDevice } from './support/sync-device.js';

const run = promisify(execFile);
const USER = 'names';
const PASSWORD = 'correct horse battery';
const WAIT_MS = 40_000;
const NFC_E = '\u00e9';
const NFD_E = 'e\u0301';

interface CaseFolder {
  readonly dir: string;
  readonly how: string;
  release(): Promise<void>;
}

/** A real case-insensitive folder under `parent`, or why the machine cannot make one. */
async function caseInsensitiveFolder(parent: string): Promise<CaseFolder | string> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'a case-insensitive file system needs Linux and root';
  const mnt = join(parent, 'casefold');
  await mkdir(mnt, { recursive: true });
  const reasons: string[] = [];
  const attempt = async (how: string, mount: () => Promise<unknown>): Promise<CaseFolder | null> => {
    try {
      await mount();
    } catch (err) {
      reasons.push(`${how}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      return null;
    }
    const dir = join(mnt, 'folder');
    try {
      await mkdir(dir);
      await run('chattr', ['+F', dir]);
      await writeFile(join(dir, 'Probe'), '');
      await readFile(join(dir, 'PROBE'));
      await rm(join(dir, 'Probe'));
      return { dir, how, release: async () => void (await run('umount', ['-l', mnt])) };
    } catch (err) {
      reasons.push(`${how} mounted but does not fold case: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      await run('umount', ['-l', mnt]).catch(() => undefined);
      return null;
    }
  };
  const tmpfs = await attempt('tmpfs -o casefold=utf8', () => run('mount', ['-t', 'tmpfs', '-o', 'casefold=utf8,size=64m', 'tmpfs', mnt]));
  if (tmpfs !== null) return tmpfs;
  const image = join(parent, 'casefold.ext4');
  const ext4 = await attempt('an ext4 image with -O casefold', async () => {
    await run('truncate', ['-s', '64M', image]);
    await run('mkfs.ext4', ['-q', '-F', '-O', 'casefold', image]);
    await run('mount', ['-o', 'loop', image, mnt]);
  });
  if (ext4 !== null) return ext4;
  return reasons.join('; ');
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let root: string;
let server: TestServer;
let a: SyncDevice;
let b: AgentDevice;
let agent: AgentProcess;
let caseFolder: CaseFolder | string;
const written = new Map<string, string>();

/** Writes `text` at `path` under `folder`, remembering the version. */
async function put(folder: string, path: string, text: string): Promise<void> {
  await mkdir(join(folder, path, '..'), { recursive: true });
  await writeFile(join(folder, path), text);
  written.set(sha(text), text);
}

async function statusOfB(): Promise<PairStatus> {
  const pair = (await queryStatus(socketPath(b.state)))?.pairs[0];
  if (pair === undefined) throw new Error('agent B does not answer');
  return pair;
}

/** Waits for B's agent to have finished a pass with nothing running and nothing queued. */
async function bSettled(check: (status: PairStatus) => boolean, what: string): Promise<PairStatus> {
  return waitFor(what, async () => {
    const status = await statusOfB();
    return !status.syncing && status.queue === 0 && check(status) ? status : undefined;
  }, WAIT_MS, 100);
}

function filesOnServer(): Promise<Record<string, string>> {
  return serverFiles(server, USER, PASSWORD);
}

function problemOf(status: PairStatus, code: Problem['code'], path: string): Problem | undefined {
  return status.problems.find((p) => p.code === code && p.path === path);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fos-names-'));
  caseFolder = await caseInsensitiveFolder(root);
  if (typeof caseFolder === 'string') console.warn(`no case-insensitive file system here (${caseFolder}); using the per-folder caseInsensitive setting`);
  server = await startServer();
  await addUser(server.dataDir, USER, PASSWORD);
  a = await openDevice({ host: server.host, port: server.port, user: USER, password: PASSWORD, name: 'linux', parent: root });
  b = await initDevice(server, root, 'mac', USER, PASSWORD, '');
  const folder = typeof caseFolder === 'string' ? b.folder : caseFolder.dir;
  await mkdir(folder, { recursive: true });
  b = { ...b, folder };
  await tuneAgent(b.config, { folders: [{ local: folder, remote: '', caseInsensitive: true }], rescanIntervalSec: 10, settleMs: 100, debounceMs: 50 });
  agent = spawnAgent(b);
  await waitFor('agent B to start', () => (agent.logs().includes('agent started') ? true : undefined), 30_000);
}, 120_000);

afterAll(async () => {
  await agent?.kill();
  await a?.close();
  await server?.dispose();
  if (typeof caseFolder === 'object') await caseFolder.release();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

const how = (): string => (typeof caseFolder === 'string' ? "the folder's caseInsensitive setting" : caseFolder.how);

describe('names that differ only by case or by Unicode normalization', () => {
  it(`holds names from the server that are one name on a case-insensitive folder, and reports them`, async () => {
    await put(a.root, 'Readme', 'readme, title case');
    await put(a.root, 'README', 'readme, upper case');
    await put(a.root, 'plain.txt', 'a plain file');
    await a.sync();
    const status = await bSettled((s) => problemOf(s, 'caseCollision', 'README') !== undefined && s.lastSyncAt !== null, `the case collision in B's status (${how()})`);
    expect(problemOf(status, 'caseCollision', 'README')).toEqual({ code: 'caseCollision', path: 'README', paths: ['README', 'Readme'] });
    await waitFor('plain.txt on B', async () => ((await treeOf(b.folder))['plain.txt'] === sha('a plain file') ? true : undefined), WAIT_MS);
    // Neither name was written on B, so neither overwrote the other; the server keeps both.
    const names = (await readdir(b.folder)).filter((n) => n.toLowerCase() === 'readme');
    expect(names).toEqual([]);
    expect(await filesOnServer()).toMatchObject({ Readme: sha('readme, title case'), README: sha('readme, upper case') });
    expect((await runFos(['status', '--config', b.config, '--json'])).stdout).toContain('caseCollision');
  });

  it('holds two local names that are one name, keeps reporting the earlier collision, and uploads neither', async () => {
    await put(b.folder, 'Notes.txt', 'notes, title case');
    // On a real case-insensitive folder the second name is the first file: write it aside.
    if (typeof caseFolder === 'string') await put(b.folder, 'NOTES.txt', 'notes, upper case');
    else await put(b.folder, 'NOTES-other.txt', 'notes, upper case');
    // In a subfolder, so that the watcher asks for a pass over that path only.
    await put(b.folder, 'sub/after.txt', 'written after the collisions');
    const status = await bSettled(
      (s) => typeof caseFolder !== 'string' || problemOf(s, 'nameCollision', 'NOTES.txt') !== undefined,
      "B's status to list the local collision",
    );
    await waitFor('sub/after.txt on the server', async () => ((await filesOnServer())['sub/after.txt'] === sha('written after the collisions') ? true : undefined), WAIT_MS);
    const files = await filesOnServer();
    if (typeof caseFolder === 'string') {
      expect(problemOf(status, 'nameCollision', 'NOTES.txt')).toEqual({ code: 'nameCollision', path: 'NOTES.txt', paths: ['NOTES.txt', 'Notes.txt'] });
      expect(Object.keys(files).filter((p) => p.toLowerCase() === 'notes.txt')).toEqual([]);
      expect(await readFile(join(b.folder, 'NOTES.txt'), 'utf8')).toBe('notes, upper case');
      expect(await readFile(join(b.folder, 'Notes.txt'), 'utf8')).toBe('notes, title case');
    }
    // The server's collision is still reported although later passes looked at other paths.
    const later = await statusOfB();
    expect(problemOf(later, 'caseCollision', 'README')).toBeDefined();
  });

  it('syncs é written as NFC on one side and NFD on the other as one name, keeping both versions', async () => {
    await put(a.root, `caf${NFD_E}.txt`, 'café from A, NFD on disk');
    await put(b.folder, `caf${NFC_E}.txt`, 'café from B, NFC on disk');
    await waitFor('B to upload its café', async () => ((await filesOnServer())[`caf${NFC_E}.txt`] !== undefined ? true : undefined), WAIT_MS);
    await a.sync();
    await a.sync();
    await bSettled((s) => s.inSync || s.problems.every((p) => p.path !== `caf${NFC_E}.txt`), 'B to take in the café conflict');
    await a.sync();
    // One sync path for café on every side, plus one conflict copy: no duplicate, no loop.
    const cafe = (names: string[]): string[] => names.filter((n) => n.normalize('NFC').startsWith(`caf${NFC_E}`)).map((n) => n.normalize('NFC')).sort();
    const onA = cafe(await readdir(a.root));
    expect(onA).toHaveLength(2);
    expect(new Set(onA).size).toBe(2);
    expect(cafe(Object.keys(await filesOnServer()))).toEqual(onA);
    expect(await a.sync().then((p) => p.planned)).toEqual([]);
    await waitFor('B to hold the same two café files', async () => (JSON.stringify(cafe(await readdir(b.folder))) === JSON.stringify(onA) ? true : undefined), WAIT_MS);
  });

  it('puts a file arriving from the server into the folder whose name is NFD on disk, not beside it', async () => {
    await put(a.root, `r${NFD_E}sum${NFD_E}/a.txt`, 'résumé a, from A');
    await a.sync();
    await waitFor('résumé/a.txt on B', async () => ((await treeOf(b.folder))[`r${NFC_E}sum${NFC_E}/a.txt`] !== undefined ? true : undefined), WAIT_MS);
    await put(b.folder, `r${NFC_E}sum${NFC_E}/b.txt`, 'résumé b, from B');
    await waitFor('résumé/b.txt on the server', async () => ((await filesOnServer())[`r${NFC_E}sum${NFC_E}/b.txt`] !== undefined ? true : undefined), WAIT_MS);
    const pass = await a.sync();
    expect(pass.problems).toEqual([]);
    const folders = (await readdir(a.root)).filter((n) => n.normalize('NFC') === `r${NFC_E}sum${NFC_E}`);
    expect(folders).toEqual([`r${NFD_E}sum${NFD_E}`]);
    expect((await readdir(join(a.root, `r${NFD_E}sum${NFD_E}`))).sort()).toEqual(['a.txt', 'b.txt']);
    expect((await a.sync()).problems).toEqual([]);
  });

  it('holds é as NFC and as NFD side by side on one disk, and reports it', async () => {
    await put(a.root, `${NFC_E}t${NFC_E}.txt`, 'été, NFC');
    await put(a.root, `${NFD_E}t${NFD_E}.txt`, 'été, NFD');
    const pass = await a.sync();
    expect(pass.problems).toEqual([{ code: 'nameCollision', path: `${NFC_E}t${NFC_E}.txt`, paths: [`${NFD_E}t${NFD_E}.txt`, `${NFC_E}t${NFC_E}.txt`].sort() }]);
    expect((await filesOnServer())[`${NFC_E}t${NFC_E}.txt`]).toBeUndefined();
    expect(await readFile(join(a.root, `${NFC_E}t${NFC_E}.txt`), 'utf8')).toBe('été, NFC');
    expect(await readFile(join(a.root, `${NFD_E}t${NFD_E}.txt`), 'utf8')).toBe('été, NFD');
  });

  it('syncs the case collision once it is resolved on the server side', async () => {
    await rename(join(a.root, 'README'), join(a.root, 'README.old'));
    await a.sync();
    const status = await bSettled((s) => problemOf(s, 'caseCollision', 'README') === undefined && s.lastSyncAt !== null, 'the case collision to clear');
    expect(status.problems.some((p) => p.code === 'caseCollision')).toBe(false);
    await waitFor('Readme and README.old on B', async () => {
      const tree = await treeOf(b.folder);
      return tree['Readme'] === sha('readme, title case') && tree['README.old'] === sha('readme, upper case') ? true : undefined;
    }, WAIT_MS);
  });

  it('lost no version anywhere', async () => {
    const found = await contentsIn([a.root, b.folder, join(server.dataDir, 'uploads', USER)], [join(a.stateDir, 'trash'), join(b.state, 'trash'), join(server.dataDir, 'trash')]);
    const missing = [...written].filter(([hash]) => !found.has(hash)).map(([, text]) => text);
    expect(missing).toEqual([]);
  });
});

describe("the agent's list of problems", () => {
  it('keeps a collision listed after a pass that looked at other paths only, and drops it once a pass finds it resolved', async () => {
    const user = 'names2';
    await addUser(server.dataDir, user, PASSWORD);
    const common = { host: server.host, port: server.port, user, password: PASSWORD, parent: root };
    const writer = await openDevice({ ...common, name: 'writer' });
    const mac = await openDevice({ ...common, name: 'mac', caseInsensitive: true });
    const controller = new AbortController();
    const passes: number[] = [];
    const worker = new PairWorker({
      pair: mac.pair,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      debounceMs: 0,
      passOptions: () => ({
        run: (fn) => mac.pool.run(fn, { signal: controller.signal }),
        clock: systemClock,
        signal: controller.signal,
        reconcile: { caseInsensitive: true },
      }),
      onPass: (report) => {
        if (report !== null) passes.push(report.finishedAt);
      },
    });
    const pass = async (start: () => void): Promise<void> => {
      const before = passes.length;
      start();
      await waitFor('a pass of the worker', () => (passes.length > before && !worker.status().syncing ? true : undefined), WAIT_MS);
    };
    try {
      await put(writer.root, 'Report.txt', 'report, title case');
      await put(writer.root, 'REPORT.txt', 'report, upper case');
      await writer.sync();
      await pass(() => worker.touchAll());
      expect(worker.status().problems).toEqual([{ code: 'caseCollision', path: 'REPORT.txt', paths: ['REPORT.txt', 'Report.txt'] }]);
      // A pass over another path only: the collision was not looked for, it still stands.
      await put(mac.root, 'sub/other.txt', 'another file');
      await pass(() => worker.touchLocal('sub/other.txt'));
      expect(worker.status().problems).toEqual([{ code: 'caseCollision', path: 'REPORT.txt', paths: ['REPORT.txt', 'Report.txt'] }]);
      // Resolved on the other side: the pass the change feed brings looks at both names.
      await rename(join(writer.root, 'REPORT.txt'), join(writer.root, 'REPORT-2.txt'));
      await writer.sync();
      await pass(() => worker.touchRemote());
      expect(worker.status().problems).toEqual([]);
    } finally {
      await worker.close();
      controller.abort();
      await writer.close(true);
      await mac.close(true);
    }
  });
});
