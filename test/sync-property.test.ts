/**
 * Issue 5, "Done when" 6: random interleaved histories of create, edit, delete and rename
 * on two devices, with syncs in between, against a real server. Afterwards both devices
 * converge to the same tree, and every content a device held at one of its syncs is still
 * somewhere: in the tree, a conflict copy, the server's trash or a local trash.
 *
 * Each run is cheap: one server and one user for the whole property, a remote folder per
 * run, real temporary folders, and `runPass` in process.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, systemClock } from '../src/client/index.js';
import { closeFolderPair, openFolderPair } from '../src/sync/folder-pair.js';
import type { FolderPair } from '../src/sync/folder-pair.js';
import { runPass } from '../src/sync/pass.js';
import type { PassReport } from '../src/sync/engine-types.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { treeOf } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
const RUNS = Number(process.env["FOS_PROP_RUNS"] ?? 500);
const FILES = ['a.txt', 'b.txt', 'd/c.txt', 'd/e/f.txt'] as const;
const CONTENTS = ['one', 'two', 'three', 'four', 'five'] as const;

type Action =
  | { readonly t: 'write'; readonly dev: 0 | 1; readonly path: string; readonly content: string }
  | { readonly t: 'remove'; readonly dev: 0 | 1; readonly path: string }
  | { readonly t: 'rename'; readonly dev: 0 | 1; readonly from: string; readonly to: string }
  | { readonly t: 'sync'; readonly dev: 0 | 1 };

const dev = fc.constantFrom<0 | 1>(0, 1);
const file = fc.constantFrom(...FILES);
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ t: fc.constant('write' as const), dev, path: file, content: fc.constantFrom(...CONTENTS) }),
  fc.record({ t: fc.constant('remove' as const), dev, path: fc.constantFrom(...FILES, 'd') }),
  fc.record({ t: fc.constant('rename' as const), dev, from: fc.constantFrom(...FILES, 'd'), to: fc.constantFrom(...FILES, 'g', 'h.txt') }),
  fc.record({ t: fc.constant('sync' as const), dev }),
);

/** Histories checked side by side, each lane with its own user (the server locks per user). */
const LANES = 4;

let server: TestServer;
let scratch: string;
const lanes: [ClientPool, ClientPool][] = [];
let run = 0;

beforeAll(async () => {
  server = await startServer();
  scratch = await mkdtemp(join(tmpdir(), 'fos-prop-'));
  const users = Array.from({ length: LANES }, (_, i) => `prop${i}`);
  await Promise.all(users.map((user) => addUser(server.dataDir, user, PASSWORD)));
  for (const user of users) {
    const make = (): ClientPool =>
      new ClientPool({ address: { host: server.host, port: server.port }, credentials: { kind: 'password', user, password: PASSWORD }, size: 2 });
    lanes.push([make(), make()]);
  }
});

afterAll(async () => {
  for (const [p, q] of lanes) {
    await p.close();
    await q.close();
  }
  await server?.dispose();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

interface Device {
  readonly root: string;
  readonly state: string;
  readonly pair: FolderPair;
  readonly pool: ClientPool;
}

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function apply(device: Device, a: Action): Promise<void> {
  switch (a.t) {
    case 'write': {
      const target = join(device.root, a.path);
      // A file in the way of a parent folder goes first (the user's own deletion).
      for (let dir = dirname(a.path); dir !== '.'; dir = dirname(dir)) {
        const s = await stat(join(device.root, dir)).catch(() => null);
        if (s?.isFile() === true) await rm(join(device.root, dir));
      }
      if ((await stat(target).catch(() => null))?.isDirectory() === true) await rm(target, { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, a.content);
      return;
    }
    case 'remove':
      await rm(join(device.root, a.path), { recursive: true, force: true });
      return;
    case 'rename': {
      const from = join(device.root, a.from);
      const to = join(device.root, a.to);
      if (!(await exists(from)) || (await exists(to)) || `${a.to}/`.startsWith(`${a.from}/`)) return;
      for (let dir = dirname(a.to); dir !== '.'; dir = dirname(dir)) {
        const s = await stat(join(device.root, dir)).catch(() => null);
        if (s?.isFile() === true) return;
      }
      await mkdir(dirname(to), { recursive: true });
      await rename(from, to);
      return;
    }
    case 'sync':
      return;
    default: {
      const never: never = a;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

function sync(device: Device): Promise<PassReport> {
  const signal = new AbortController().signal;
  return runPass(device.pair, {
    run: (fn) => device.pool.run(fn, { retries: 2, baseMs: 20, signal }),
    clock: systemClock,
    signal,
    force: true,
    save: false,
    concurrency: 4,
  });
}

/** Every file content under a folder (for the trash), by hash. */
async function contentsUnder(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(path, e.name));
      else if (e.isFile()) out.add(sha(await readFile(join(path, e.name))));
    }
  };
  await walk(dir);
  return out;
}

async function heldContents(device: Device): Promise<Set<string>> {
  return new Set(Object.entries(await treeOf(device.root)).filter(([p]) => !p.endsWith('/')).map(([, h]) => h));
}

async function checkHistory(pools: readonly [ClientPool, ClientPool], actions: readonly Action[]): Promise<void> {
  run += 1;
  const remote = `run-${run}`;
  const home = await mkdtemp(join(scratch, 'r-'));
  const devices: Device[] = [];
  for (const [i, name] of ['laptop', 'desktop'].entries()) {
    const root = join(home, name, 'folder');
    const state = join(home, name, 'state');
    await mkdir(root, { recursive: true });
    const pair = await openFolderPair({ local: root, remote, stateDir: state, device: name, settleMs: 0 });
    devices.push({ root, state, pair, pool: pools[i] as ClientPool });
  }
  const [a, b] = devices as [Device, Device];
  const held = new Set<string>();
  try {
    for (const act of actions) {
      const device = act.dev === 0 ? a : b;
      if (act.t === 'sync') {
        for (const h of await heldContents(device)) held.add(h);
        await sync(device);
      } else {
        await apply(device, act);
      }
    }
    for (const d of [a, b]) for (const h of await heldContents(d)) held.add(h);
    // Converge: alternate passes until both trees agree and a pass finds nothing to do.
    let converged = false;
    for (let i = 0; i < 6 && !converged; i++) {
      const first = await sync(i % 2 === 0 ? a : b);
      const second = await sync(i % 2 === 0 ? b : a);
      converged = first.planned.length === 0 && second.planned.length === 0;
    }
    expect(converged).toBe(true);
    const treeA = await treeOf(a.root);
    expect(await treeOf(b.root)).toEqual(treeA);
    const kept = new Set(Object.values(treeA));
    for (const d of [a, b]) for (const h of await contentsUnder(join(d.state, 'trash'))) kept.add(h);
    const trash = await a.pool.run((c) => c.trash(remote));
    for (const item of trash) kept.add(item.sha256);
    for (const h of held) expect(kept.has(h), `content ${h} was lost`).toBe(true);
  } finally {
    for (const d of devices) await closeFolderPair(d.pair);
    await rm(home, { recursive: true, force: true });
  }
}

describe('random histories on two devices', () => {
  it(`converge and lose nothing (${RUNS} runs)`, async () => {
    const perLane = Math.ceil(RUNS / LANES);
    await Promise.all(
      lanes.map((pools, lane) =>
        fc.assert(
          fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), (actions) => checkHistory(pools, actions)),
          { numRuns: perLane, endOnFailure: true, seed: Date.now() + lane },
        ),
      ),
    );
  }, 600_000);
});
