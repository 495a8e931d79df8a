/**
 * Issue 9, "Done when" 1 (the short version; `npm run soak` runs 100 and more): kill -9 of
 * the server, of an agent, or of both, at random moments while both devices edit and many
 * files are in flight; then everything restarts and syncs again. Every iteration checks
 * the invariants: convergence, nothing half written, nothing that was synced lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCycle } from '../../test-support/soak-cycle.js';
import { seededRandom } from '../../test-support/soak-edits.js';
import { World } from '../../test-support/soak-world.js';

const SEED = Number(process.env['FOS_FAULT_SEED'] ?? Date.now() % 1_000_000);
const ITERATIONS = 6;
const random = seededRandom(SEED);
let root: string;
let world: World;
/** A broken world stays on disk, with the agents' logs, for inspection. */
let broken = false;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fos-faults-crash-'));
  world = await World.create({ root });
  const [alpha] = world.devices;
  if (alpha === undefined) throw new Error('no device');
  for (let i = 0; i < 20; i++) await world.write(alpha, `start/${i}.bin`, Buffer.from(`crash loop seed ${SEED}, file ${i}`));
  await world.checkpoint(90_000);
}, 120_000);

afterAll(async () => {
  if (broken) await world?.saveLogs();
  await world?.close();
  if (root === undefined) return;
  if (broken) console.warn(`crash loop: kept ${root} with each device's agent.log for inspection`);
  else await rm(root, { recursive: true, force: true });
});

describe(`crash loop (seed ${SEED})`, () => {
  it(`survives ${ITERATIONS} rounds of kill -9 of the server, an agent or both`, async () => {
    const kills: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const report = await runCycle(world, { random, editMs: 2500, kills: 2, faults: ['none'], convergeMs: 90_000, maxBytes: 512 * 1024 });
      kills.push(...report.kills);
      broken ||= report.violations.length > 0;
      expect({ iteration: i, violations: report.violations }).toEqual({ iteration: i, violations: [] });
    }
    expect(kills.length).toBe(ITERATIONS * 2);
    expect(world.server.starts).toBeGreaterThan(1);
  }, 170_000);
});
