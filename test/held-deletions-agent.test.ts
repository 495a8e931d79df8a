/**
 * Issue 11 with a running `fos agent`: it holds a mass deletion instead of carrying it out,
 * `fos status` shows the batch, and a decision reaches it at once through its WATCH
 * connection, also the decisions that commit nothing on the server (approving deletions
 * the server already made, rejecting ones it never made). The agent's rescan runs every
 * 300 s, so acting within the deadline below means the notice did it. (That such a notice
 * comes at the revision a watcher started from is tested on the wire in
 * held-deletions.test.ts.)
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, runFos, startServer } from './support/server.js';
import type { RunResult, TestServer } from './support/server.js';
import { initDevice, spawnAgent, waitFor } from './support/agent-process.js';
import type { AgentDevice, AgentProcess } from './support/agent-process.js';

const USER = 'erin';
const PASSWORD = 'correct horse battery';
let server: TestServer;
let home: string;
let a: AgentDevice;
let b: AgentDevice;
let agentB: AgentProcess;

function fos(args: readonly string[]): Promise<RunResult> {
  return runFos(args, '', { FOS_SERVER: `${server.host}:${server.port}`, FOS_USER: USER, FOS_PASSWORD: PASSWORD, HOME: home, XDG_CONFIG_HOME: join(home, 'xdg') });
}

async function names(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((n) => n.endsWith('.txt')).sort();
}

let probes = 0;

/**
 * Makes sure B's WATCH connection is up: a file uploaded to the server reaches B (its
 * rescan is 300 s away, so only a notice, or the catch-up of a WATCH just opened, brings
 * it). A decision that commits nothing made before B watches would only reach B then.
 */
async function watchIsUp(): Promise<void> {
  probes += 1;
  const name = `probe-${probes}.bin`;
  await writeFile(join(home, name), `probe ${probes}`);
  expect((await fos(['upload', join(home, name), '--to', 'shared'])).code).toBe(0);
  await waitFor(`${name} on B`, async () => ((await readdir(b.folder)).includes(name) ? true : undefined), 60_000, 200);
}

/** The held batch `fos status --json` shows for B, once there is one. */
async function heldOnB(side: 'remote' | 'local'): Promise<string> {
  return waitFor(`a ${side} batch in fos status`, async () => {
    const status = JSON.parse((await runFos(['status', '--config', b.config, '--json'])).stdout) as { pairs: { held?: { side: string; batchId: string | null }[] }[] };
    return status.pairs[0]?.held?.find((h) => h.side === side && h.batchId !== null)?.batchId ?? undefined;
  }, 60_000, 200);
}

beforeAll(async () => {
  server = await startServer();
  home = await mkdtemp(join(tmpdir(), 'fos-held-agent-'));
  await addUser(server.dataDir, USER, PASSWORD);
  a = await initDevice(server, home, 'laptop', USER, PASSWORD, 'shared');
  b = await initDevice(server, home, 'desktop', USER, PASSWORD, 'shared');
  for (let i = 0; i < 10; i++) await writeFile(join(a.folder, `f${i}.txt`), `file ${i}`);
  expect((await runFos(['sync', '--config', a.config])).code).toBe(0);
  expect((await runFos(['sync', '--config', b.config])).code).toBe(0);
  agentB = spawnAgent(b);
  await waitFor('agent B started', () => (agentB.logs().includes('agent started') ? true : undefined));
});

afterAll(async () => {
  await agentB?.kill();
  await server?.dispose();
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

describe('a running agent and held deletions', { timeout: 240_000 }, () => {
  // Deletions are made while B's agent is stopped: a trickle of them, seen a few per
  // pass, stays under the guard's share (a property of any per-pass guard), and on a
  // loaded machine a running agent may pass between two of the test's deletions.

  it('holds what the server lost; approving it there reaches the agent at once', async () => {
    expect(await agentB.stop()).toBe(0);
    for (let i = 0; i < 6; i++) await rm(join(a.folder, `f${i}.txt`));
    expect((await runFos(['sync', '--config', a.config, '--force'])).code).toBe(0);
    agentB = spawnAgent(b);
    const id = await heldOnB('local');
    expect(await names(b.folder)).toHaveLength(10);
    expect((await runFos(['status', '--config', b.config])).stdout).toContain(`6 deletions held (batch ${id})`);
    await watchIsUp();
    expect(await names(b.folder)).toHaveLength(10);
    // Approving deletions the server already made commits nothing; the notice does it.
    expect((await fos(['deletions', 'approve', id])).code).toBe(0);
    expect(await waitFor('the approved deletions on B', async () => ((await names(b.folder)).length === 4 ? true : undefined), 60_000)).toBe(true);
  });

  it('holds what it lost itself; rejecting it brings the files back at once', async () => {
    expect(await agentB.stop()).toBe(0);
    for (const name of ['f6.txt', 'f7.txt', 'f8.txt']) await rm(join(b.folder, name));
    agentB = spawnAgent(b);
    const id = await heldOnB('remote');
    const listed = JSON.parse((await fos(['deletions', 'list', '--json'])).stdout) as { id: string; count: number }[];
    expect(listed).toMatchObject([{ id, count: 3 }]);
    await watchIsUp();
    // Rejecting deletions the server never made commits nothing either.
    expect((await fos(['deletions', 'reject', id])).code).toBe(0);
    expect(await waitFor('the files back on B', async () => ((await names(b.folder)).length === 4 ? true : undefined), 60_000)).toBe(true);
    expect(await names(b.folder)).toEqual(['f6.txt', 'f7.txt', 'f8.txt', 'f9.txt']);
  });
});
