/**
 * fast-check properties of reconcile, run through the simulator: random interleavings of
 * edits (write, delete, rename, mkdir) on two devices with syncs in between.
 *
 * - idempotent: right after a pass, a second reconcile finds nothing to do;
 * - converges: after a pass the device and the server hold the same tree, and a few
 *   rounds bring both devices to the same tree;
 * - never loses a version: content that was new on either side at a pass is, afterwards,
 *   somewhere on both sides;
 * - symmetric: which device syncs first changes conflict copy names, not what survives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isConflictCopy } from './conflict-name.js';
import { reconcile } from './reconcile.js';
import {
  cloneDevice,
  cloneServer,
  createDevice,
  createServer,
  mkdirsLocal,
  remoteView,
  removeLocalTree,
  renameLocalTree,
  scanDevice,
  syncDevice,
  writeLocal,
} from './simulate.js';
import type { SimDevice, SimServer } from './simulate.js';

const FILE_PATHS = ['x', 'y', 'a/x', 'a/y', 'a/b/x', 'b/x', 'b/y'] as const;
const DIR_PATHS = ['a', 'b', 'a/b', 'c'] as const;
const CONTENTS = ['c1', 'c2', 'c3', 'c4'] as const;
const OPTIONS = { force: true } as const;

type Dev = 0 | 1;
type Action =
  | { readonly t: 'write'; readonly dev: Dev; readonly path: string; readonly content: string }
  | { readonly t: 'remove'; readonly dev: Dev; readonly path: string }
  | { readonly t: 'rename'; readonly dev: Dev; readonly from: string; readonly to: string }
  | { readonly t: 'mkdir'; readonly dev: Dev; readonly path: string }
  | { readonly t: 'sync'; readonly dev: Dev };
type Edit = Exclude<Action, { t: 'sync' }>;

const dev = fc.constantFrom<Dev>(0, 1);
const anyPath = fc.constantFrom<string>(...FILE_PATHS, ...DIR_PATHS);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('write' as const), dev, path: fc.constantFrom<string>(...FILE_PATHS), content: fc.constantFrom<string>(...CONTENTS) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), dev, path: anyPath }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('rename' as const), dev, from: anyPath, to: anyPath }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('mkdir' as const), dev, path: fc.constantFrom<string>(...DIR_PATHS) }) },
);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: edit },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('sync' as const), dev }) },
);

interface World {
  readonly devices: [SimDevice, SimDevice];
  readonly server: SimServer;
  clock: number;
}

function newWorld(): World {
  return { devices: [createDevice('laptop'), createDevice('desk')], server: createServer(), clock: 1_000_000 };
}

function cloneWorld(world: World): World {
  return {
    devices: [cloneDevice(world.devices[0]), cloneDevice(world.devices[1])],
    server: cloneServer(world.server),
    clock: world.clock,
  };
}

function applyEdit(world: World, a: Edit): void {
  const device = world.devices[a.dev];
  world.clock += 1_000;
  switch (a.t) {
    case 'write':
      writeLocal(device, a.path, { size: 10 + Number(a.content.slice(1)), sha256: a.content, mtimeMs: world.clock });
      return;
    case 'remove':
      removeLocalTree(device, a.path);
      return;
    case 'rename':
      renameLocalTree(device, a.from, a.to);
      return;
    case 'mkdir':
      mkdirsLocal(device, a.path);
      return;
    default: {
      const unreachable: never = a;
      throw new Error(`unknown edit ${String(unreachable)}`);
    }
  }
}

/** Content changed on a side relative to the device's base: work that must survive. */
function newWork(device: SimDevice, server: SimServer): Set<string> {
  const out = new Set<string>();
  for (const [path, f] of device.files) {
    if (f.kind === 'file' && device.base.get(path)?.sha256 !== f.sha256) out.add(f.sha256);
  }
  for (const [path, e] of server.entries) {
    if (e.kind === 'file' && device.base.get(path)?.sha256 !== e.sha256) out.add(e.sha256);
  }
  return out;
}

function tree(files: Iterable<[string, { kind: string; sha256: string }]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, f] of files) out[path] = f.kind === 'dir' ? '/' : f.sha256;
  return out;
}

function shas(files: Iterable<[string, { kind: string; sha256: string }]>): Set<string> {
  const out = new Set<string>();
  for (const [, f] of files) if (f.kind === 'file') out.add(f.sha256);
  return out;
}

/** One pass with every invariant checked. */
function checkedSync(world: World, which: Dev): number {
  const device = world.devices[which];
  const mustSurvive = newWork(device, world.server);
  world.clock += 1_000;
  const plan = syncDevice(device, world.server, world.clock, OPTIONS);
  expect(plan.problems).toEqual([]);

  const again = reconcile({
    base: device.base,
    local: scanDevice(device),
    remote: remoteView(world.server),
    device: device.name,
    now: world.clock,
    options: OPTIONS,
  });
  expect(again.ops).toEqual([]);
  expect(tree(device.files)).toEqual(tree(world.server.entries));
  const here = shas(device.files);
  for (const sha of mustSurvive) expect(here.has(sha)).toBe(true);
  return plan.ops.length;
}

function converge(world: World, first: Dev): void {
  const second: Dev = first === 0 ? 1 : 0;
  for (let round = 0; round < 4; round++) {
    const done = checkedSync(world, first) + checkedSync(world, second);
    if (done === 0) break;
  }
  expect(tree(world.devices[0].files)).toEqual(tree(world.server.entries));
  expect(tree(world.devices[1].files)).toEqual(tree(world.server.entries));
  expect(checkedSync(world, first) + checkedSync(world, second)).toBe(0);
}

function run(world: World, actions: readonly Action[]): void {
  for (const a of actions) {
    if (a.t === 'sync') checkedSync(world, a.dev);
    else applyEdit(world, a);
  }
}

describe('reconcile properties', () => {
  it('random histories on two devices: idempotent passes, no lost version, convergence', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 30 }), (actions) => {
        const world = newWorld();
        run(world, actions);
        converge(world, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('is symmetric in the two devices: sync order changes copy names only', () => {
    fc.assert(
      fc.property(
        fc.array(edit, { maxLength: 8 }),
        fc.array(edit, { minLength: 1, maxLength: 12 }),
        (setup, edits) => {
          const start = newWorld();
          for (const a of setup) applyEdit(start, { ...a, dev: 0 });
          converge(start, 0);
          for (const a of edits) applyEdit(start, a);

          const ab = cloneWorld(start);
          converge(ab, 0);
          const ba = cloneWorld(start);
          converge(ba, 1);

          const files = (w: World): Map<string, { kind: string; sha256: string }> => w.devices[0].files;
          expect(shas(files(ab))).toEqual(shas(files(ba)));
          const named = (w: World): string[] => [...files(w).keys()].filter((p) => !isConflictCopy(p)).sort();
          expect(named(ab)).toEqual(named(ba));
        },
      ),
      { numRuns: 200 },
    );
  });
});
