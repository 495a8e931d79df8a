/**
 * Two `fos agent` processes, A and B, against a real server (issue 5, "Done when" 2, 3,
 * 7, 8): saved files travel, conflicts keep both versions, a slowly written file is
 * uploaded once and complete, ignore rules hold, and SIGTERM exits 0.
 */
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { initDevice, spawnAgent, waitFor } from './support/agent-process.js';
import type { AgentDevice, AgentProcess } from './support/agent-process.js';
import { treeOf } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let home: string;
let a: AgentDevice;
let b: AgentDevice;
let agentA: AgentProcess;
let agentB: AgentProcess;

/** A tree without what A's `.fosignore` keeps local. */
function synced(tree: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).filter(([p]) => !p.startsWith('build/') && !p.endsWith('.log')));
}

async function readOr(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  server = await startServer();
  home = await mkdtemp(join(tmpdir(), 'fos-agent-'));
  await addUser(server.dataDir, 'dave', PASSWORD);
  a = await initDevice(server, home, 'laptop', 'dave', PASSWORD, 'agents');
  b = await initDevice(server, home, 'desktop', 'dave', PASSWORD, 'agents');
  await writeFile(join(a.folder, '.fosignore'), 'build/\n*.log\n');
  agentA = spawnAgent(a);
  agentB = spawnAgent(b);
  await waitFor('both agents started', () => (agentA.logs().includes('agent started') && agentB.logs().includes('agent started') ? true : undefined));
});

afterAll(async () => {
  await agentA?.kill();
  await agentB?.kill();
  await server?.dispose();
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

describe('two running agents', () => {
  it('carries a file saved on A to B, and a change on B back to A', async () => {
    await writeFile(join(a.folder, 'hello.txt'), 'hello from A');
    expect(await waitFor('hello.txt on B', () => readOr(join(b.folder, 'hello.txt')))).toBe('hello from A');
    await mkdir(join(b.folder, 'nested/deeper'), { recursive: true });
    await writeFile(join(b.folder, 'nested/deeper/b.txt'), 'from B');
    expect(await waitFor('b.txt on A', () => readOr(join(a.folder, 'nested/deeper/b.txt')))).toBe('from B');
  });

  it('keeps the ignore rules: ignored files stay where they are', async () => {
    await mkdir(join(a.folder, 'build'), { recursive: true });
    await writeFile(join(a.folder, 'build/out.bin'), 'artifact');
    await writeFile(join(a.folder, 'debug.log'), 'log');
    await writeFile(join(a.folder, 'kept.txt'), 'kept');
    await waitFor('kept.txt on B', () => readOr(join(b.folder, 'kept.txt')));
    expect(await readOr(join(b.folder, 'debug.log'))).toBeUndefined();
    expect(await readOr(join(b.folder, 'build/out.bin'))).toBeUndefined();
  });

  it('uploads a file written slowly over 3 seconds once, complete', async () => {
    const path = join(a.folder, 'slow.bin');
    const chunk = 'y'.repeat(10_000);
    await writeFile(path, '');
    for (let i = 0; i < 30; i++) {
      await appendFile(path, chunk);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const expected = chunk.repeat(30);
    expect(await waitFor('slow.bin complete on B', async () => ((await readOr(join(b.folder, 'slow.bin'))) === expected ? true : undefined))).toBe(true);
    const uploads = agentA.records().filter((r) => r['msg'] === 'synced' && r['op'] === 'upload' && r['path'] === 'slow.bin');
    expect(uploads).toHaveLength(1);
  });

  it('keeps both versions of a file changed on both sides at once', async () => {
    await writeFile(join(a.folder, 'both.txt'), 'base');
    await waitFor('both.txt on B', () => readOr(join(b.folder, 'both.txt')));
    await Promise.all([writeFile(join(a.folder, 'both.txt'), 'A wins?'), writeFile(join(b.folder, 'both.txt'), 'B wins?')]);
    const settled = await waitFor(
      'both versions on both sides',
      async () => {
        const ta = synced(await treeOf(a.folder));
        const tb = synced(await treeOf(b.folder));
        const copies = Object.keys(ta).filter((p) => p.startsWith('both (conflict from'));
        return copies.length === 1 && JSON.stringify(ta) === JSON.stringify(tb) ? copies : undefined;
      },
      30_000,
    );
    const contents = [await readFile(join(a.folder, 'both.txt'), 'utf8'), await readFile(join(a.folder, settled[0] as string), 'utf8')].sort();
    expect(contents).toEqual(['A wins?', 'B wins?']);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    expect(await agentB.stop()).toBe(0);
    expect(agentB.logs()).toContain('agent stopped');
  });
});
