/**
 * One cycle of the crash loop and the soak (issue 9): both devices edit for a few seconds
 * under a random proxy fault, while `kill -9` hits the server, an agent or both at random
 * moments; then the faults stop, the dead come back, everything must converge, and every
 * content that existed at a successful sync must still be somewhere.
 */
import type { FaultSpec } from './fault-proxy.js';
import { editUnderFault } from './soak-faults.js';
import type { EditKind } from './soak-edits.js';
import type { Violation } from './soak-ledger.js';
import type { World } from './soak-world.js';

/** A proxy fault the cycle may put in force. */
export type FaultKind = 'none' | 'latency' | 'bandwidth' | 'stall' | 'cut-up' | 'cut-down' | 'half-open' | 'refuse';
/** What a kill hits. */
export type KillKind = 'server' | 'agent' | 'both';

/** What one cycle did. */
export interface CycleReport {
  readonly fault: FaultKind;
  readonly kills: readonly KillKind[];
  readonly edits: Readonly<Record<EditKind, number>>;
  readonly bytesWritten: number;
  readonly violations: readonly Violation[];
  readonly convergeMs: number;
}

/** Options of {@link runCycle}. */
export interface CycleOptions {
  readonly random: () => number;
  /** How long the devices edit under the fault. */
  readonly editMs: number;
  /** Kills per cycle (at random moments of the edit phase). */
  readonly kills: number;
  /** The faults to choose from; all by default. */
  readonly faults?: readonly FaultKind[];
  readonly convergeMs: number;
  readonly maxBytes?: number;
}

const ALL_FAULTS: readonly FaultKind[] = ['none', 'latency', 'bandwidth', 'stall', 'cut-up', 'cut-down', 'half-open', 'refuse'];

/** The proxy settings of a fault kind. */
export function faultSpec(kind: FaultKind, random: () => number): FaultSpec | null {
  switch (kind) {
    case 'none':
      return null;
    case 'latency':
      return { latencyMs: 20 + Math.floor(random() * 150) };
    case 'bandwidth':
      return { bytesPerSec: 128 * 1024 + Math.floor(random() * 1024 * 1024) };
    case 'stall':
      return { stallMs: 1000 + Math.floor(random() * 4000) };
    case 'cut-up':
      return { cutAfterBytes: { up: 8 * 1024 + Math.floor(random() * 256 * 1024) } };
    case 'cut-down':
      return { cutAfterBytes: { down: 8 * 1024 + Math.floor(random() * 256 * 1024) } };
    case 'half-open':
      return { halfOpen: random() < 0.5 ? ['down'] : ['up', 'down'] };
    case 'refuse':
      return { refuse: true };
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/**
 * Runs one cycle and checks the invariants at its end. Never throws for a broken
 * invariant: it is returned as a violation.
 * @throws Error when a process cannot be started again.
 */
export async function runCycle(world: World, options: CycleOptions): Promise<CycleReport> {
  const { random } = options;
  const choices = options.faults ?? ALL_FAULTS;
  const fault = choices[Math.floor(random() * choices.length)] ?? 'none';
  const spec = faultSpec(fault, random);
  const killAt = Array.from({ length: options.kills }, () => Math.floor(random() * options.editMs)).sort((a, b) => a - b);
  const kills: KillKind[] = [];
  const dead = new Set<string>();
  const devices = world.devices;
  const killOne = async (): Promise<void> => {
    const kind: KillKind = random() < 0.4 ? 'server' : random() < 0.7 ? 'agent' : 'both';
    kills.push(kind);
    if (kind !== 'agent') {
      await world.server.kill();
      // The server comes back at once, on the same data folder.
      await world.restartServer();
    }
    if (kind !== 'server') {
      const victim = devices[Math.floor(random() * devices.length)];
      if (victim === undefined) return;
      await victim.agent.kill();
      dead.add(victim.name);
      // Half the agents come back during the phase, the others after it.
      if (random() < 0.5) {
        victim.agent.start();
        dead.delete(victim.name);
      }
    }
  };
  const phase = await editUnderFault(world, {
    fault: spec,
    durationMs: options.editMs,
    random,
    editEveryMs: 120,
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    during: async (elapsed) => {
      if (fault === 'refuse') for (const d of devices) d.proxy.dropAll();
      while (killAt.length > 0 && (killAt[0] ?? 0) <= elapsed) {
        killAt.shift();
        await killOne();
      }
    },
  });
  // Kills due at the very end of the phase, after its last poll.
  for (; killAt.length > 0; killAt.shift()) await killOne();
  const violations: Violation[] = [...phase.violations];
  for (const device of devices) {
    if (!device.agent.isRunning && !dead.has(device.name)) {
      violations.push({ kind: 'silent-stop', detail: `${device.name}'s agent exited by itself (code ${String(device.agent.exitCode)}): ${device.agent.logs().slice(-400)}` });
    }
    device.agent.start();
  }
  if (!world.server.isRunning) await world.restartServer();
  const started = Date.now();
  try {
    await world.checkpoint(options.convergeMs);
  } catch (err) {
    violations.push({ kind: 'diverged', detail: err instanceof Error ? err.message : String(err) });
  }
  const convergeMs = Date.now() - started;
  violations.push(...(await world.lost()), ...(await world.halfWritten()));
  return { fault, kills, edits: phase.edits, bytesWritten: phase.bytes, violations, convergeMs };
}
