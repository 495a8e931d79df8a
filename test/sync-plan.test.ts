/**
 * `fos sync --plan` and the limits of a scripted pass (issue 11): the plan lists exactly
 * what a real pass right after it carries out (uploads, downloads, a move each way, a
 * conflict, deletions below the guard, a manifest-only update, a file still being
 * written), and changes nothing; `--max-ops` and `--max-bytes` stop a pass whose plan is
 * larger before it changes anything, with exit code 7.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDevice, patchAgentConfig } from './support/agent-process.js';
import type { AgentDevice } from './support/agent-process.js';
import { addUser, runFos, startServer } from './support/server.js';
import type { RunResult, TestServer } from './support/server.js';
import { snapshotTree, treeOf } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
const USER = 'planner';
/** Old enough that nothing but `fresh.txt` is still settling. */
const OLD_S = Date.parse('2026-01-01T00:00:00.000Z') / 1000;
let server: TestServer;
let home: string;

interface PlannedOp {
  readonly kind: string;
  readonly path: string;
  readonly to?: string;
  readonly rule: string;
  readonly bytes?: number;
}

interface Totals {
  readonly operations: number;
  readonly byKind: Record<string, number>;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly deletions: number;
}

interface PairReport {
  readonly dryRun: boolean;
  readonly planned: PlannedOp[];
  readonly totals: Totals;
  readonly limit: { kind: string; limit: number; planned: number } | null;
  readonly execution: { done: Record<string, number>; executed: PlannedOp[]; bytesUploaded: number; bytesDownloaded: number };
}

beforeAll(async () => {
  server = await startServer();
  home = await mkdtemp(join(tmpdir(), 'fos-plan-'));
  await addUser(server.dataDir, USER, PASSWORD);
});

afterAll(async () => {
  await server?.dispose();
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

async function put(device: AgentDevice, path: string, content: string | Buffer, mtimeS: number | null = OLD_S): Promise<void> {
  const abs = join(device.folder, path);
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, content);
  if (mtimeS !== null) await utimes(abs, mtimeS, mtimeS);
}

async function fosSync(device: AgentDevice, ...flags: string[]): Promise<{ result: RunResult; pair: PairReport }> {
  const result = await runFos(['sync', '--config', device.config, '--json', ...flags]);
  const parsed = JSON.parse(result.stdout) as { exitCode: number; pairs: PairReport[] };
  expect(parsed.exitCode).toBe(result.code);
  const pair = parsed.pairs[0];
  if (pair === undefined) throw new Error(`no pair report: ${result.stdout}${result.stderr}`);
  return { result, pair };
}

/** The server's side of the synced folder, as `fos list -R --json` prints it. */
async function serverTree(): Promise<unknown> {
  const env = { FOS_SERVER: `${server.host}:${server.port}`, FOS_USER: USER, FOS_PASSWORD: PASSWORD, FOS_CONFIG: join(home, 'client.json'), HOME: home };
  const result = await runFos(['list', '-R', '--json', 'sync'], '', env);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/**
 * Everything a pass could change: both sides of the pair and the device's state folder,
 * but for the cached copy of the server's listing (`*.remote.json`), which any pass may
 * bring up to date.
 */
async function world(device: AgentDevice): Promise<unknown> {
  const state = Object.entries(await snapshotTree(device.state)).filter(([path]) => !path.endsWith('.remote.json'));
  return { folder: await snapshotTree(device.folder), server: await serverTree(), state };
}

/** Operations in a stable order; a conflict copy's name carries the time of the pass, so that is masked. */
function comparable(ops: readonly PlannedOp[]): string[] {
  return ops.map((op) => JSON.stringify({ ...op, ...(op.to === undefined ? {} : { to: op.to.replace(/\d{4}-\d{2}-\d{2} \d{6}/u, '<stamp>') }) })).sort();
}

describe('fos sync --plan', () => {
  it('lists every operation with totals, changes nothing, and is what fos sync then carries out', async () => {
    const a = await initDevice(server, home, 'laptop', USER, PASSWORD, 'sync');
    const b = await initDevice(server, home, 'desktop', USER, PASSWORD, 'sync');
    for (let i = 0; i < 8; i++) await put(a, `keep/k${i}.txt`, `keep ${i}\n`);
    for (const name of ['docs/x.txt', 'old-name.txt', 'conflict.txt', 'gone-remote.txt', 'gone-local.txt', 'moved-remote.txt']) await put(a, name, `${name} v1\n`);
    expect((await fosSync(a)).result.code).toBe(0);
    expect((await fosSync(b)).result.code).toBe(0);

    await put(b, 'conflict.txt', 'the desktop version\n');
    await put(b, 'from-b.txt', 'made on the desktop\n');
    await put(b, 'same.txt', 'the same on both\n');
    await rm(join(b.folder, 'gone-remote.txt'));
    await mkdir(join(b.folder, 'moved'));
    await rename(join(b.folder, 'moved-remote.txt'), join(b.folder, 'moved/remote-renamed.txt'));
    expect((await fosSync(b)).result.code).toBe(0);

    await put(a, 'conflict.txt', 'the laptop version, longer\n');
    await put(a, 'new-a.txt', randomBytes(3000));
    await put(a, 'docs/x.txt', 'docs/x.txt v2 from the laptop\n');
    await put(a, 'same.txt', 'the same on both\n');
    await rename(join(a.folder, 'old-name.txt'), join(a.folder, 'new-name.txt'));
    await rm(join(a.folder, 'gone-local.txt'));
    // Still being written when the plan starts: the plan waits for it, as fos sync does.
    await put(a, 'fresh.txt', 'just saved\n', null);

    const before = await world(a);
    const plan = await fosSync(a, '--plan');
    expect(plan.result.code).toBe(0);
    expect(await world(a)).toEqual(before);
    expect(plan.pair.dryRun).toBe(true);
    const kinds = new Set(plan.pair.planned.map((op) => op.kind));
    for (const kind of ['upload', 'download', 'moveRemote', 'moveLocal', 'mkdirLocal', 'conflict', 'deleteRemote', 'deleteLocal', 'updateBase']) {
      expect(kinds, kind).toContain(kind);
    }
    expect(plan.pair.planned).toContainEqual({ kind: 'upload', path: 'fresh.txt', rule: 'localNew', bytes: 11 });
    expect(plan.pair.planned).toContainEqual({ kind: 'moveRemote', path: 'old-name.txt', to: 'new-name.txt', rule: 'localMoved', entryKind: 'file' });
    expect(plan.pair.planned).toContainEqual({ kind: 'moveLocal', path: 'moved-remote.txt', to: 'moved/remote-renamed.txt', rule: 'remoteMoved', entryKind: 'file' });

    // The totals add up the listed operations: manifest-only updates are not operations.
    const byKind: Record<string, number> = {};
    for (const op of plan.pair.planned) byKind[op.kind] = (byKind[op.kind] ?? 0) + 1;
    for (const [kind, n] of Object.entries(plan.pair.totals.byKind)) expect(n, kind).toBe(byKind[kind] ?? 0);
    expect(plan.pair.totals.operations).toBe(plan.pair.planned.filter((op) => op.kind !== 'updateBase' && op.kind !== 'dropBase').length);
    expect(plan.pair.totals.deletions).toBe(2);
    expect(plan.pair.totals.bytesUp).toBeGreaterThan(3000);

    const human = await runFos(['sync', '--config', a.config, '--plan']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`plan: ${plan.pair.totals.operations} operations and 1 manifest update`);
    expect(human.stdout).toContain('  moveRemote   old-name.txt -> new-name.txt  (localMoved)\n');
    expect(human.stdout).toContain('  upload       new-a.txt  (localNew, 2.9 KiB)\n');
    expect(human.stdout).toMatch(/\n {2}totals: conflict 1, deleteRemote 1, deleteLocal 1, mkdirLocal 1, moveRemote 1, moveLocal 1, upload 3, download 1, updateBase 1; [\d.]+ KiB up, [\d.]+ B down, 2 deletions\n/u);
    expect(await world(a)).toEqual(before);

    const real = await fosSync(a);
    expect(real.result.code).toBe(5);
    expect(comparable(real.pair.execution.executed)).toEqual(comparable(plan.pair.planned));
    expect(real.pair.execution.done).toEqual(plan.pair.totals.byKind);
    expect(real.pair.execution.bytesUploaded).toBe(plan.pair.totals.bytesUp);
    expect(real.pair.execution.bytesDownloaded).toBe(plan.pair.totals.bytesDown);

    const after = await fosSync(a, '--plan');
    expect(after.pair.planned).toEqual([]);
    expect((await runFos(['sync', '--config', a.config, '--plan'])).stdout).toContain(': nothing to do\n');
    expect((await fosSync(b)).result.code).toBe(0);
    expect(await treeOf(b.folder)).toEqual(await treeOf(a.folder));
  }, 240_000);
});

describe('fos sync --max-ops and --max-bytes', () => {
  it('stop a pass whose plan is larger before it changes anything (exit 7), and let a smaller one run', async () => {
    const c = await initDevice(server, home, 'tablet', USER, PASSWORD, 'sync');
    await put(c, 'big.bin', randomBytes(4096));
    await put(c, 'tablet/notes.txt', 'from the tablet\n');
    const plan = await fosSync(c, '--plan');
    const { operations, bytesUp, bytesDown } = plan.pair.totals;
    expect(operations).toBeGreaterThan(3);
    expect(bytesUp + bytesDown).toBeGreaterThan(4096);

    // First sync of a new folder: a stopped pass writes not even the folder's id file.
    const before = await world(c);
    const ops = await runFos(['sync', '--config', c.config, '--max-ops', String(operations - 1)]);
    expect(ops.code).toBe(7);
    expect(ops.stdout).toContain(`stopped: the plan has ${operations} operations, more than --max-ops ${operations - 1}; nothing was changed\n`);
    expect(ops.stdout).toContain('  totals: ');
    expect(await world(c)).toEqual(before);

    const bytes = await fosSync(c, '--max-bytes', String(bytesUp + bytesDown - 1));
    expect(bytes.result.code).toBe(7);
    expect(bytes.pair.limit).toEqual({ kind: 'maxBytes', limit: bytesUp + bytesDown - 1, planned: bytesUp + bytesDown });
    expect(bytes.pair.execution.executed).toEqual([]);
    const suffix = await fosSync(c, '--max-bytes', '4K', '--max-ops', '1000');
    expect(suffix.result.code).toBe(7);
    expect(suffix.pair.limit).toEqual({ kind: 'maxBytes', limit: 4096, planned: bytesUp + bytesDown });
    expect(await world(c)).toEqual(before);

    const bad = await runFos(['sync', '--config', c.config, '--max-bytes', '2X']);
    expect(bad.code).toBe(2);

    const allowed = await fosSync(c, '--max-ops', String(operations), '--max-bytes', '1M');
    expect(allowed.result.code).toBe(0);
    expect(allowed.pair.limit).toBeNull();
    expect(allowed.pair.execution.executed).toHaveLength(plan.pair.planned.length);
    const tree = (await serverTree()) as { path: string }[];
    expect(tree.map((e) => e.path)).toContain('sync/tablet/notes.txt');
    expect((await readFile(join(c.folder, '.fos/folder-id'), 'utf8')).trim()).toMatch(/^[0-9a-f]{32}$/u);
  }, 240_000);
});

describe('fos sync --json', () => {
  it('reports every pass it ran for a pair, the one after waiting for a file being written included', async () => {
    const d = await initDevice(server, home, 'phone', USER, PASSWORD, 'sync-phone');
    // Long enough that fresh.txt is surely still settling when the first pass looks.
    await patchAgentConfig(d, { settleMs: 10_000 });
    await put(d, 'ready.txt', 'settled long ago\n');
    await put(d, 'fresh.txt', 'just saved\n', null);
    const { result, pair } = await fosSync(d);
    expect(result.code).toBe(0);
    // The first pass uploads ready.txt and leaves fresh.txt settling; the second uploads it.
    expect(comparable(pair.execution.executed)).toEqual(
      comparable([
        { kind: 'upload', path: 'fresh.txt', rule: 'localNew', bytes: 11 },
        { kind: 'upload', path: 'ready.txt', rule: 'localNew', bytes: 17 },
      ]),
    );
    expect(pair.execution.done['upload']).toBe(2);
    expect(comparable(pair.planned)).toEqual(comparable(pair.execution.executed));
    expect(pair.totals.operations).toBe(2);
  }, 120_000);
});
