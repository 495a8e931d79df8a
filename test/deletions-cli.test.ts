/**
 * Issue 11 from the command line: `fos sync` holds a mass deletion and says how to decide
 * (exit 7), `fos status` shows "N deletions held (batch ID)" without a running agent, and
 * `fos deletions list|approve|reject` decide, with `--json` and the documented exit codes
 * (2 a malformed id, 4 an unknown one, 5 superseded or already decided).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, runFos, startServer } from './support/server.js';
import type { RunResult, TestServer } from './support/server.js';
import { initDevice } from './support/agent-process.js';
import type { AgentDevice } from './support/agent-process.js';
import { treeOf } from './support/sync-device.js';

const USER = 'dora';
const PASSWORD = 'correct horse battery';
let server: TestServer;
let home: string;

beforeAll(async () => {
  server = await startServer();
  home = await mkdtemp(join(tmpdir(), 'fos-deletions-cli-'));
  await addUser(server.dataDir, USER, PASSWORD);
});

afterAll(async () => {
  await server?.dispose();
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

function fos(args: readonly string[]): Promise<RunResult> {
  return runFos(args, '', {
    FOS_SERVER: `${server.host}:${server.port}`,
    FOS_USER: USER,
    FOS_PASSWORD: PASSWORD,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'xdg'),
  });
}

function json<T>(result: RunResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${String(result.code)}): ${result.stdout}\n${result.stderr}`);
  }
}

interface SyncJson {
  readonly exitCode: number;
  readonly pairs: readonly { readonly held: readonly { side: string; batchId: string | null; count: number }[]; readonly inSync: boolean }[];
}

interface BatchJson {
  readonly id: string;
  readonly device: string;
  readonly folder: string;
  readonly side: string;
  readonly state: string;
  readonly count: number;
  readonly bytes: number;
  readonly created: string;
  readonly successor: string | null;
  readonly samples: readonly string[];
}

describe('fos deletions', { timeout: 240_000 }, () => {
  let a: AgentDevice;
  let b: AgentDevice;

  beforeAll(async () => {
    a = await initDevice(server, home, 'laptop', USER, PASSWORD, 'sync');
    b = await initDevice(server, home, 'desktop', USER, PASSWORD, 'sync');
    for (let i = 0; i < 10; i++) await writeFile(join(a.folder, `f${i}.txt`), `file ${i}`);
    expect((await runFos(['sync', '--config', a.config])).code).toBe(0);
    expect((await runFos(['sync', '--config', b.config])).code).toBe(0);
  });

  it('holds a mass deletion, shows it in sync and status, and approves it after a superseded try', async () => {
    for (let i = 0; i < 6; i++) await rm(join(a.folder, `f${i}.txt`));
    const first = await runFos(['sync', '--config', a.config, '--json']);
    expect(first.code).toBe(7);
    const firstHeld = json<SyncJson>(first).pairs[0]?.held;
    expect(firstHeld).toMatchObject([{ side: 'remote', count: 6 }]);
    const id1 = firstHeld?.[0]?.batchId ?? '';

    const text = await runFos(['status', '--config', a.config]);
    expect(text.stdout).toContain(`6 deletions held (batch ${id1})`);
    const status = json<{ pairs: { held: { batchId: string; count: number }[] }[] }>(await runFos(['status', '--config', a.config, '--json']));
    expect(status.pairs[0]?.held).toMatchObject([{ batchId: id1, count: 6 }]);

    const listed = json<BatchJson[]>(await fos(['deletions', 'list', '--json']));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: id1, device: 'laptop', folder: 'sync', side: 'remote', state: 'held', count: 6, bytes: 36, successor: null });
    expect(listed[0]?.samples).toEqual(['sync/f0.txt', 'sync/f1.txt', 'sync/f2.txt']);
    const human = await fos(['deletions', 'list']);
    expect(human.stdout).toContain(`${id1}  held  6 deletions`);
    expect(human.stdout).toContain('… and 3 more');

    // One more deletion: the held set changes, a new batch supersedes the first.
    await rm(join(a.folder, 'f6.txt'));
    const second = await runFos(['sync', '--config', a.config]);
    expect(second.code).toBe(7);
    const id2 = /7 deletions held as batch ([0-9a-z]{8})/u.exec(second.stdout)?.[1] ?? '';
    expect(id2).not.toBe(id1);
    expect(second.stdout).toContain(`fos deletions approve ${id2} / reject ${id2}`);

    const stale = await fos(['deletions', 'approve', id1]);
    expect(stale.code).toBe(5);
    expect(stale.stderr).toContain(id2);
    expect((await fos(['deletions', 'approve', 'zzzzzzzz'])).code).toBe(4);
    expect((await fos(['deletions', 'approve', 'not-an-id!'])).code).toBe(2);
    // Ids are read as people type them: upper case and dashes are fine.
    const approved = await fos(['deletions', 'approve', `${id2.slice(0, 4).toUpperCase()}-${id2.slice(4)}`, '--json']);
    expect(approved.code).toBe(0);
    expect(json(approved)).toMatchObject({ batch: { id: id2, state: 'approved' }, done: 7, kept: 0 });
    expect((await fos(['deletions', 'reject', id2])).code).toBe(5);

    const after = await runFos(['sync', '--config', b.config, '--json']);
    expect(after.code).toBe(0);
    expect(Object.keys(await treeOf(b.folder)).sort()).toEqual(['f7.txt', 'f8.txt', 'f9.txt']);
    const settled = await runFos(['sync', '--config', a.config, '--json']);
    expect(settled.code).toBe(0);
    expect(json<SyncJson>(settled).pairs[0]?.held).toEqual([]);
    expect((await runFos(['status', '--config', a.config])).stdout).not.toContain('deletions held');
    expect(json<BatchJson[]>(await fos(['deletions', 'list', '--json']))).toEqual([]);
    const all = json<BatchJson[]>(await fos(['deletions', 'list', '--all', '--json']));
    expect(all.map((batch) => [batch.id, batch.state, batch.successor])).toEqual([
      [id1, 'superseded', id2],
      [id2, 'approved', null],
    ]);
  });

  it('reject brings the files back to the device that deleted them', async () => {
    await mkdir(b.folder, { recursive: true });
    for (const name of ['f7.txt', 'f8.txt']) await rm(join(b.folder, name));
    const held = await runFos(['sync', '--config', b.config]);
    expect(held.code).toBe(7);
    const id = /2 deletions held as batch ([0-9a-z]{8})/u.exec(held.stdout)?.[1] ?? '';
    const rejected = await fos(['deletions', 'reject', id]);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(`rejected ${id}: 2 stay on the server and come back to desktop`);
    expect((await runFos(['sync', '--config', b.config])).code).toBe(0);
    expect(Object.keys(await treeOf(b.folder)).sort()).toEqual(['f7.txt', 'f8.txt', 'f9.txt']);
  });
});
