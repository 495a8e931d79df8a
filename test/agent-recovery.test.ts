/**
 * Issue 5, "Done when" 5 and 8: `fos status --json` shows a running agent's real state
 * while it uploads a large file (the server's upload rate is limited so the transfer
 * lasts), then `kill -9` in the middle of that pass and a restart: the pass completes,
 * with no duplicate, no lost file and no conflict copy; a second device ends up equal.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, runFos, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { initDevice, spawnAgent, waitFor } from './support/agent-process.js';
import type { AgentDevice, AgentProcess } from './support/agent-process.js';
import { treeOf } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
const BIG_BYTES = 24 * 1024 * 1024;
let server: TestServer;
let home: string;
let a: AgentDevice;
let b: AgentDevice;
let agent: AgentProcess | null = null;

interface StatusJson {
  running: boolean;
  serverReachable: boolean;
  pairs: { queue: number; syncing: boolean; transfers: { path: string; direction: string; bytes: number; total: number }[]; conflicts: unknown[]; errors: unknown[] }[];
}

async function status(device: AgentDevice): Promise<StatusJson> {
  const result = await runFos(['status', '--config', device.config, '--json']);
  if (result.code !== 0) throw new Error(`fos status failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as StatusJson;
}

beforeAll(async () => {
  server = await startServer({ args: ['--upload-rate', '2M'] });
  home = await mkdtemp(join(tmpdir(), 'fos-recovery-'));
  await addUser(server.dataDir, 'erin', PASSWORD);
  a = await initDevice(server, home, 'laptop', 'erin', PASSWORD);
  b = await initDevice(server, home, 'desktop', 'erin', PASSWORD);
});

afterAll(async () => {
  await agent?.kill();
  await server?.dispose();
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

describe('an agent in the middle of a large upload', () => {
  it('reports the transfer in progress through fos status --json', async () => {
    for (let i = 0; i < 20; i++) await writeFile(join(a.folder, `small-${i}.txt`), `small file ${i}`);
    await writeFile(join(a.folder, 'big.bin'), randomBytes(BIG_BYTES));
    agent = spawnAgent(a);
    const seen = await waitFor(
      'a transfer in fos status',
      async () => {
        const s = await status(a);
        const t = s.pairs[0]?.transfers.find((x) => x.path === 'big.bin' && x.bytes > 0 && x.bytes < x.total);
        return t === undefined ? undefined : { s, t };
      },
      30_000,
      200,
    );
    expect(seen.s.running).toBe(true);
    expect(seen.s.serverReachable).toBe(true);
    expect(seen.s.pairs[0]?.syncing).toBe(true);
    expect(seen.t.direction).toBe('upload');
    expect(seen.t.total).toBe(BIG_BYTES);
  });

  it('completes after kill -9 and a restart: no duplicate, no lost file, no conflict copy', async () => {
    await agent?.kill();
    const stopped = await status(a);
    expect(stopped.running).toBe(false);
    agent = spawnAgent(a);
    await waitFor(
      'the restarted agent in sync',
      async () => {
        const s = await status(a);
        const pair = s.pairs[0];
        return s.running && pair !== undefined && pair.transfers.length === 0 && !pair.syncing && pair.queue === 0 && (await sync(b)) ? true : undefined;
      },
      60_000,
      500,
    );
    const treeA = await treeOf(a.folder);
    const treeB = await treeOf(b.folder);
    expect(treeB).toEqual(treeA);
    expect(Object.keys(treeA).filter((p) => p.includes('conflict'))).toEqual([]);
    expect(Object.keys(treeA)).toHaveLength(21);
    const listing = await runFos(['list', '--server', `${server.host}:${server.port}`, '--user', 'erin', '--json'], '', { FOS_PASSWORD: PASSWORD });
    expect(listing.code).toBe(0);
    expect(listing.stdout).not.toContain('conflict');
    expect(await agent?.stop()).toBe(0);
  });
});

/** One `fos sync` on B; true when B then holds the big file. */
async function sync(device: AgentDevice): Promise<boolean> {
  const result = await runFos(['sync', '--config', device.config]);
  if (result.code !== 0) return false;
  return (await treeOf(device.folder))['big.bin'] !== undefined;
}
