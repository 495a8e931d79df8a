/**
 * Issue 11, "Done when" 7: the watcher budget, with a real lowered inotify limit. The agent
 * runs in a user namespace whose watch limit is below what its folder needs: `fos status`
 * says the watcher is degraded (with the numbers), the log says it once, and changes deep
 * in unwatched folders still reach the other side within the rescan interval. A watch the
 * system refuses at run time (the limit reached later) is degraded too, not a silent gap.
 * Where the machine does not allow a lowered limit, the tests skip and say why.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socketPath } from '../src/agent/status-file.js';
import { queryStatus } from '../src/agent/status-socket.js';
import type { AgentStatus, WatchStatus } from '../src/agent/status-types.js';
import { tuneAgent } from '../test-support/soak-world.js';
import { initDevice, spawnAgent, waitFor } from './support/agent-process.js';
import type { AgentDevice, AgentProcess } from './support/agent-process.js';
import { addUser, runFos, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { openDevice, treeOf } from './support/sync-device.js';
import type { SyncDevice } from './support/sync-device.js';
import { lowerWatchLimit } from './support/watch-namespace.js';

const PASSWORD = 'correct horse battery';
const RESCAN_SEC = 10;
/** Time for a pass and the mirror's own pass on a loaded machine, on top of the interval. */
const PASS_SLACK_MS = 20_000;

const namespace = await lowerWatchLimit(50);
const skipWhy = typeof namespace === 'string' ? namespace : null;
if (skipWhy !== null) console.warn(`watcher budget tests skipped: ${skipWhy}`);

let server: TestServer;
let home: string;
const agents: AgentProcess[] = [];
const mirrors: SyncDevice[] = [];
let users = 0;

beforeAll(async () => {
  if (skipWhy !== null) return;
  server = await startServer();
  home = await mkdtemp(join(tmpdir(), 'fos-watch-budget-'));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.kill()));
  await Promise.all(mirrors.map((m) => m.close(true)));
  await server?.dispose();
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

interface Setup {
  readonly device: AgentDevice;
  readonly agent: AgentProcess;
  /** The other side: an engine-level device that syncs whenever asked. */
  readonly mirror: SyncDevice;
}

/** A user, a device whose folder holds what `fill` writes, its agent under the lowered limit, and a mirror. */
async function setUp(settings: Record<string, unknown>, fill: (folder: string) => Promise<void>): Promise<Setup> {
  if (typeof namespace === 'string') throw new Error(namespace);
  users += 1;
  const user = `budget${users}`;
  await addUser(server.dataDir, user, PASSWORD);
  const device = await initDevice(server, home, `laptop${users}`, user, PASSWORD, 'tree');
  await tuneAgent(device.config, { rescanIntervalSec: RESCAN_SEC, settleMs: 100, debounceMs: 50, ...settings });
  await mkdir(device.folder, { recursive: true });
  await fill(device.folder);
  const agent = spawnAgent(device, [], { prefix: namespace.prefix });
  agents.push(agent);
  const mirror = await openDevice({ host: server.host, port: server.port, user, password: PASSWORD, name: `mirror${users}`, remote: 'tree', parent: home });
  mirrors.push(mirror);
  await waitFor('the agent to start', () => (agent.logs().includes('agent started') ? true : undefined), 30_000);
  await mirrored({ device, agent, mirror }, 60_000);
  return { device, agent, mirror };
}

/** Syncs the mirror until its folder matches the device's (by hash), or throws at the deadline. */
async function mirrored(setup: Setup, timeoutMs: number): Promise<void> {
  let last = '';
  try {
    await waitFor(
      'the mirror to match the device',
      async () => {
        await setup.mirror.sync();
        const [mine, theirs] = [await treeOf(setup.device.folder), await treeOf(setup.mirror.root)];
        last = JSON.stringify({ device: Object.keys(mine).length, mirror: Object.keys(theirs).length });
        return JSON.stringify(mine) === JSON.stringify(theirs) ? true : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)} (${last}); agent log tail: ${setup.agent.logs().slice(-3000)}`);
  }
}

/** `fos status --json`, as a script reads it. */
async function statusJson(device: AgentDevice): Promise<AgentStatus> {
  const result = await runFos(['status', '--config', device.config, '--json']);
  if (result.code !== 0) throw new Error(`fos status failed (${String(result.code)}): ${result.stderr}`);
  return JSON.parse(result.stdout) as AgentStatus;
}

/** The watch state from the agent's socket (what `fos status` shows, without starting a process per poll). */
async function watchOf(device: AgentDevice): Promise<WatchStatus> {
  const pair = (await queryStatus(socketPath(device.state)))?.pairs[0];
  if (pair === undefined) throw new Error('the agent does not answer on its status socket');
  return pair.watch;
}

function messages(agent: AgentProcess, prefix: string): number {
  return agent.records().filter((r) => typeof r['msg'] === 'string' && r['msg'].startsWith(prefix)).length;
}

/** 6 top folders × 9 subfolders with a note each, and a deep chain: 64 folders, 55 files. */
async function bigTree(folder: string): Promise<void> {
  for (let t = 0; t < 6; t++) {
    for (let s = 0; s < 9; s++) {
      await mkdir(join(folder, `t${t}`, `s${s}`), { recursive: true });
      await writeFile(join(folder, `t${t}`, `s${s}`, 'note.txt'), `note ${t}.${s}`);
    }
  }
  await mkdir(join(folder, 't0/s0/deep/er/still'), { recursive: true });
  await writeFile(join(folder, 't0/s0/deep/er/still/file.txt'), 'deep down');
}

describe.skipIf(skipWhy !== null)(`the watcher budget under a lowered inotify limit${skipWhy === null ? '' : ` (skipped: ${skipWhy})`}`, () => {
  it('says "degraded" with the numbers when the folders exceed the limit, and deep changes in unwatched folders still arrive within the rescan interval', async () => {
    if (typeof namespace === 'string') return;
    const setup = await setUp({}, bigTree);
    const { device, agent } = setup;
    const watch = (await statusJson(device)).pairs[0]?.watch;
    if (watch === undefined) throw new Error('no pair in fos status --json');
    const budget = namespace.limit - Math.ceil(namespace.limit / 10);
    // One watch per folder: files are seen through their folder's watch (issue 8).
    expect(watch).toMatchObject({ state: 'degraded', limit: namespace.limit, budget, folders: 64, watchesNeeded: 64, rescanIntervalSec: RESCAN_SEC });
    expect(watch.watchedFolders).toBeGreaterThan(0);
    expect(watch.watchedFolders).toBeLessThan(64);
    expect(watch.unwatched.length).toBeGreaterThan(0);
    expect(watch.reason).toContain(`${watch.watchedFolders} of 64 folders are watched`);
    const human = await runFos(['status', '--config', device.config]);
    expect(human.stdout).toContain('watcher degraded:');
    expect(messages(agent, 'watcher degraded: not every folder')).toBe(1);

    // Changes below the unwatched folders: an edit, a new folder chain, a deletion.
    // Two unwatched folders that hold a note (the deep chain's folders hold none).
    const withNotes = watch.unwatched.filter((folder) => /^t\d\/s\d$/u.test(folder));
    const [first, last] = [withNotes[0], withNotes[withNotes.length - 1]];
    if (first === undefined || last === undefined || first === last) throw new Error(`too few unwatched folders with a note: ${watch.unwatched.join(', ')}`);
    await writeFile(join(device.folder, last, 'note.txt'), 'edited where no watch looks');
    await mkdir(join(device.folder, last, 'fresh/deeper'), { recursive: true });
    await writeFile(join(device.folder, last, 'fresh/deeper/new.txt'), 'new where no watch looks');
    await rm(join(device.folder, first, 'note.txt'));
    await mirrored(setup, RESCAN_SEC * 1000 + PASS_SLACK_MS);
    expect(Object.keys(await treeOf(setup.mirror.root))).toContain(`${last}/fresh/deeper/new.txt`);
    expect((await watchOf(device)).state).toBe('degraded');
    // Said once, not at every rescan.
    expect(messages(agent, 'watcher degraded: not every folder')).toBe(1);
  }, 150_000);

  it('turns a watch the system refuses at run time into "degraded", and the files it misses still arrive within the rescan interval', async () => {
    if (typeof namespace === 'string') return;
    // The agent believes it may use 1000 watches; the system allows far fewer, as when other
    // programs took the rest: its watches are refused while it runs.
    const setup = await setUp({ maxWatches: 1000 }, async (folder) => {
      await writeFile(join(folder, 'a.txt'), 'a');
      await writeFile(join(folder, 'b.txt'), 'b');
    });
    const { device, agent } = setup;
    // More folders than the system allows watches: each takes one (its files none, issue 8).
    const grown = Array.from({ length: namespace.limit + 10 }, (_, i) => `grow/g${String(i).padStart(3, '0')}/note.txt`);
    for (const path of grown) {
      await mkdir(join(device.folder, path, '..'), { recursive: true });
      await writeFile(join(device.folder, path), `first ${path}`);
    }
    let seen: WatchStatus | null = null;
    const watch = await waitFor('a refused watch in the status', async () => {
      seen = await watchOf(device);
      return seen.state === 'degraded' && seen.refused > 0 ? seen : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}: ${JSON.stringify(seen)}; agent log tail: ${agent.logs().slice(-2000)}`);
    });
    expect(watch).toMatchObject({ limit: namespace.limit, budget: 1000 });
    expect(watch.reason).toContain('the system refused');
    await mirrored(setup, RESCAN_SEC * 1000 + PASS_SLACK_MS);

    // Files in folders whose watch was refused: their edits are seen by the rescans.
    for (const path of grown) await writeFile(join(device.folder, path), `second ${path}, longer`);
    await mirrored(setup, RESCAN_SEC * 1000 + PASS_SLACK_MS);
    expect(messages(agent, 'watcher degraded: the system refused')).toBe(1);
    expect((await watchOf(device)).state).toBe('degraded');
  }, 150_000);
});
