/**
 * Issue 10: two `fos server` nodes on one PostgreSQL store and one shared data folder,
 * behind haproxy (Debian's, with its own config on loopback ports), notices between the
 * nodes over PostgreSQL LISTEN/NOTIFY. Two agents, each through the balancer to a
 * different node: syncs converge; a WATCH notice from a commit on node 1 reaches a
 * watcher on node 2; a node killed mid-transfer: the agent reconnects through the
 * balancer to the other node and finishes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosClient } from '../src/client/index.js';
import type { Notice } from '../src/client/types.js';
import { FaultProxy } from '../test-support/fault-proxy.js';
import { startHaproxy } from '../test-support/haproxy.js';
import type { Haproxy } from '../test-support/haproxy.js';
import { readTree, sameTree, sha256, treeDiff } from '../test-support/soak-ledger.js';
import { FosAgent, FosServer, TEST_BCRYPT_COST, runFos, waitUntil } from '../test-support/soak-procs.js';
import { queryStatus } from '../src/agent/status-socket.js';
import { socketPath } from '../src/agent/status-file.js';
import { createTestDatabase } from './support/postgres.js';
import type { TestDatabase } from './support/postgres.js';

const USER = 'cluster';
const PASSWORD = 'cluster password 10';
const CONVERGE_MS = 60_000;

interface Agent {
  readonly name: string;
  readonly folder: string;
  readonly state: string;
  readonly proxy: FaultProxy;
  readonly process: FosAgent;
}

let root: string;
let db: TestDatabase;
let nodes: FosServer[] = [];
let balancer: Haproxy | null = null;
let agents: Agent[] = [];

/** Starts a node on the shared store and folder. */
function startNode(data: string): Promise<FosServer> {
  return FosServer.start({ dataDir: data, args: ['--store', db.url, '--notices', db.url] });
}

async function startAgent(name: string, port: number): Promise<Agent> {
  const home = join(root, name);
  const folder = join(home, 'folder');
  const state = join(home, 'state');
  const config = join(home, 'agent.json');
  await mkdir(folder, { recursive: true });
  // A proxy of our own between agent and balancer, to slow a transfer down on demand.
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port } });
  const init = await runFos(
    ['init', '--config', config, '--server', `127.0.0.1:${proxy.port}`, '--user', USER, '--folder', folder, '--remote', '', '--state', state, '--device', name],
    '',
    { FOS_PASSWORD: PASSWORD },
  );
  if (init.code !== 0) throw new Error(`fos init ${name}: ${init.stderr}`);
  const parsed = JSON.parse(await readFile(config, 'utf8')) as { agent: Record<string, unknown> };
  parsed.agent = { ...parsed.agent, settleMs: 100, debounceMs: 50 };
  await writeFile(config, JSON.stringify(parsed));
  const agent = new FosAgent(config);
  agent.start();
  return { name, folder, state, proxy, process: agent };
}

/** Waits until both agents' folders hold the same tree, twice in a row. */
async function converge(): Promise<Map<string, string>> {
  let last = '';
  let previous: Map<string, string> | null = null;
  try {
    return await waitUntil(
      'the agents to converge',
      async () => {
        const [a, b] = await Promise.all(agents.map((agent) => readTree(agent.folder)));
        if (a === undefined || b === undefined || !sameTree(a, b)) {
          last = a === undefined || b === undefined ? 'no trees' : treeDiff(a, b, ['A', 'B']).join('; ');
          previous = null;
          return undefined;
        }
        if (previous !== null && sameTree(previous, a)) return a;
        previous = a;
        return undefined;
      },
      CONVERGE_MS,
      250,
    );
  } catch {
    throw new Error(`no convergence within ${CONVERGE_MS} ms: ${last}`);
  }
}

function connectTo(port: number): Promise<FosClient> {
  return FosClient.connect({ address: { host: '127.0.0.1', port }, credentials: { kind: 'password', user: USER, password: PASSWORD }, timeoutMs: 10_000 });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fos-cluster-'));
  db = await createTestDatabase();
  const data = join(root, 'shared-data');
  await mkdir(data, { recursive: true });
  const added = await runFos(['user', 'add', USER, '--store', db.url, '--password-stdin', '--cost', String(TEST_BCRYPT_COST)], `${PASSWORD}\n`);
  if (added.code !== 0) throw new Error(`fos user add: ${added.stderr}`);
  nodes = [await startNode(data), await startNode(data)];
  const [one, two] = nodes as [FosServer, FosServer];
  // Agent A's way in prefers node 1, agent B's prefers node 2; each falls back to the other.
  balancer = await startHaproxy(root, [
    { name: 'via_one', nodes: [one.port, two.port], balance: 'prefer-first' },
    { name: 'via_two', nodes: [two.port, one.port], balance: 'prefer-first' },
  ]);
  agents = [await startAgent('a', balancer.ports.get('via_one') ?? 0), await startAgent('b', balancer.ports.get('via_two') ?? 0)];
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.process.kill()));
  await Promise.all(agents.map((a) => a.proxy.close()));
  await balancer?.stop();
  await Promise.all(nodes.map((n) => n.kill()));
  await db?.drop();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('two nodes behind haproxy', () => {
  it('syncs two agents on different nodes both ways', async () => {
    const [a, b] = agents as [Agent, Agent];
    for (let i = 0; i < 10; i++) {
      const target = i % 2 === 0 ? a : b;
      await mkdir(join(target.folder, 'docs'), { recursive: true });
      await writeFile(join(target.folder, `docs/${target.name}-${i}.txt`), `file ${i} from ${target.name}`);
    }
    const tree = await converge();
    expect([...tree.keys()].filter((p) => !p.endsWith('/'))).toHaveLength(10);
    // Each agent really is on its own node: every node logged a login of this user.
    for (const node of nodes) expect(node.records().some((r) => r['user'] === USER)).toBe(true);
  }, 90_000);

  it('carries a WATCH notice from a commit on node 1 to a watcher on node 2', async () => {
    const [one, two] = nodes as [FosServer, FosServer];
    const watcher = await connectTo(two.port);
    const writer = await connectTo(one.port);
    const controller = new AbortController();
    const notices: Notice[] = [];
    try {
      const start = (await writer.changesSince(0)).rev;
      const watching = watcher.watch(start, (n) => notices.push(n), controller.signal);
      const local = join(root, 'notice.txt');
      await writeFile(local, 'committed on node 1');
      const entry = await writer.upload(local, 'notice/from-node-1.txt');
      const notice = await waitUntil('a notice on node 2', () => notices.find((n) => n.rev >= entry.rev), 15_000);
      expect(notice.paths).toContain('notice/from-node-1.txt');
      controller.abort();
      await watching;
    } finally {
      controller.abort();
      await watcher.quit();
      await writer.quit();
    }
  }, 60_000);

  it('finishes a transfer through the other node when its node is killed mid-transfer', async () => {
    const [a, b] = agents as [Agent, Agent];
    const [one] = nodes as [FosServer, FosServer];
    const big = randomBytes(6 * 1024 * 1024);
    a.proxy.setFaults({ bytesPerSec: 1024 * 1024 });
    await writeFile(join(a.folder, 'big.bin'), big);
    await waitUntil(
      'agent A to be uploading big.bin',
      async () => {
        const status = await queryStatus(socketPath(a.state), 2000);
        const t = status?.pairs.flatMap((p) => p.transfers).find((x) => x.path === 'big.bin');
        return t !== undefined && t.bytes > 512 * 1024 && t.bytes < t.total ? t : undefined;
      },
      30_000,
      50,
    );
    await one.kill();
    a.proxy.clearFaults();

    const tree = await converge();
    expect(tree.get('big.bin')).toBe(sha256(big));
    expect(sha256(await readFile(join(b.folder, 'big.bin')))).toBe(sha256(big));
    // The shared store agrees, as node 2 lists it.
    const client = await connectTo((nodes[1] as FosServer).port);
    try {
      expect((await client.stat('big.bin')).sha256).toBe(sha256(big));
    } finally {
      await client.quit();
    }
  }, 120_000);
});
