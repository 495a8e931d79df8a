/**
 * Issue 9, "Done when" 2: two running agents sync through fault proxies while both keep
 * editing; each proxy mode is put in force for a while, then cleared. During the fault no
 * file is ever visible half written (every tree is polled and hashed); afterwards both
 * devices and the server converge, every content that existed at a successful sync is
 * still somewhere, and the agents said what went wrong (logs, `fos status`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../test-support/soak-edits.js';
import { editUnderFault } from '../../test-support/soak-faults.js';
import type { FaultSpec } from '../../test-support/fault-proxy.js';
import { runFos, waitUntil } from '../../test-support/soak-procs.js';
import type { LogRecord } from '../../test-support/soak-procs.js';
import { World } from '../../test-support/soak-world.js';

const SEED = Number(process.env['FOS_FAULT_SEED'] ?? Date.now() % 1_000_000);
const random = seededRandom(SEED);
const CONVERGE_MS = 90_000;
/** Log messages by which an agent says it met trouble and is trying again. */
const TROUBLE = new Set(['retrying', 'operation failed', 'sync pass failed', 'server watch lost; reconnecting']);

let root: string;
let world: World;

function troubleSince(marks: readonly number[]): LogRecord[] {
  return world.devices.flatMap((d, i) => d.agent.records().slice(marks[i] ?? 0).filter((r) => TROUBLE.has(String(r['msg']))));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fos-faults-proxy-'));
  world = await World.create({ root });
  const [alpha] = world.devices;
  if (alpha === undefined) throw new Error('no device');
  for (let i = 0; i < 6; i++) await world.write(alpha, `start/${i}.txt`, Buffer.from(`seed ${SEED} file ${i}`));
  await world.checkpoint(CONVERGE_MS);
}, 120_000);

afterAll(async () => {
  await world?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

const MODES: readonly { name: string; fault: FaultSpec; expectTrouble: boolean }[] = [
  { name: 'added latency and a bandwidth cap', fault: { latencyMs: 60, bytesPerSec: 512 * 1024 }, expectTrouble: false },
  { name: 'a stall of 4 seconds', fault: { stallMs: 4000 }, expectTrouble: false },
  { name: 'connections cut after 64 KiB upstream', fault: { cutAfterBytes: { up: 64 * 1024 } }, expectTrouble: true },
  { name: 'connections cut after 64 KiB downstream', fault: { cutAfterBytes: { down: 64 * 1024 } }, expectTrouble: true },
];

describe(`syncing through the fault proxy (seed ${SEED})`, () => {
  for (const mode of MODES) {
    it(`converges and loses nothing after ${mode.name}`, async () => {
      const marks = world.devices.map((d) => d.agent.records().length);
      const phase = await editUnderFault(world, { fault: mode.fault, durationMs: 4000, random, bigFirst: 400_000, maxBytes: 300_000 });
      expect(phase.violations).toEqual([]);
      expect(phase.polls).toBeGreaterThan(0);
      await world.checkpoint(CONVERGE_MS);
      expect(await world.lost()).toEqual([]);
      expect(await world.halfWritten()).toEqual([]);
      if (mode.expectTrouble) expect(troubleSince(marks).length).toBeGreaterThan(0);
      for (const device of world.devices) expect(device.agent.isRunning).toBe(true);
    }, 150_000);
  }

  it('reports an unreachable server in fos status and the log, then recovers', async () => {
    const [alpha] = world.devices;
    if (alpha === undefined) throw new Error('no device');
    const mark = alpha.agent.records().length;
    alpha.proxy.setFaults({ refuse: true });
    alpha.proxy.dropAll();
    await world.write(alpha, 'while-offline.txt', Buffer.from(`written offline, seed ${SEED}`));
    const status = await waitUntil(
      'fos status to say the server is unreachable',
      async () => {
        const result = await runFos(['status', '--config', alpha.config, '--json']);
        const parsed = JSON.parse(result.stdout) as { running: boolean; serverReachable: boolean; serverError: string | null };
        return parsed.serverReachable ? undefined : parsed;
      },
      30_000,
      500,
    );
    expect(status.running).toBe(true);
    expect(status.serverError).toEqual(expect.any(String));
    expect(alpha.agent.records().slice(mark).some((r) => TROUBLE.has(String(r['msg'])))).toBe(true);
    alpha.proxy.clearFaults();
    await world.checkpoint(CONVERGE_MS);
    expect(await world.lost()).toEqual([]);
  }, 150_000);
});
