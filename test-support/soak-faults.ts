/**
 * Running edits under a fault and checking what must hold meanwhile (issue 9): while a
 * fault is in force both devices keep editing and every tree is polled, so that a file
 * appearing half written under its final name is caught the moment it is visible.
 */
import type { FaultSpec } from './fault-proxy.js';
import { freshContent, randomEdit } from './soak-edits.js';
import type { EditKind } from './soak-edits.js';
import type { Violation } from './soak-ledger.js';
import { delay } from './soak-procs.js';
import type { Device, World } from './soak-world.js';

/** What a phase of edits under a fault did. */
export interface PhaseReport {
  readonly edits: Readonly<Record<EditKind, number>>;
  readonly bytes: number;
  readonly polls: number;
  readonly violations: readonly Violation[];
}

/** Options of {@link editUnderFault}. */
export interface PhaseOptions {
  /** The fault; set on `on` (every device by default) for the phase, cleared after. */
  readonly fault: FaultSpec | null;
  readonly on?: readonly Device[];
  readonly durationMs: number;
  readonly random: () => number;
  /** Gap between edits on one device. */
  readonly editEveryMs?: number;
  /** Start with one large file on each device, so that transfers are in flight. */
  readonly bigFirst?: number;
  readonly maxBytes?: number;
  /** Called between polls (kill -9 and the like). */
  readonly during?: (elapsedMs: number) => Promise<void>;
  /** Leave the fault in force at the end (default: cleared). */
  readonly keepFault?: boolean;
}

/** Edits on every device for `durationMs` under a fault, polling for half-written files. */
export async function editUnderFault(world: World, options: PhaseOptions): Promise<PhaseReport> {
  const targets = options.on ?? world.devices;
  if (options.fault !== null) for (const device of targets) device.proxy.setFaults(options.fault);
  const edits: Record<EditKind, number> = { create: 0, rewrite: 0, rename: 0, delete: 0 };
  let bytes = 0;
  const violations: Violation[] = [];
  const started = Date.now();
  if (options.bigFirst !== undefined) {
    for (const device of world.devices) {
      const data = freshContent(options.bigFirst);
      await world.write(device, `big/${device.name}-${started.toString(36)}.bin`, data);
      edits.create += 1;
      bytes += data.length;
    }
  }
  const editEveryMs = options.editEveryMs ?? 150;
  let polls = 0;
  const editing = Promise.all(
    world.devices.map(async (device) => {
      while (Date.now() - started < options.durationMs) {
        const edit = await randomEdit(world, device, options.random, options.maxBytes);
        edits[edit.kind] += 1;
        bytes += edit.bytes;
        await delay(editEveryMs * (0.5 + options.random()));
      }
    }),
  );
  let editsDone = false;
  void editing.finally(() => {
    editsDone = true;
  });
  while (!editsDone) {
    violations.push(...(await world.halfWritten()));
    polls += 1;
    await options.during?.(Date.now() - started);
    await delay(100);
  }
  await editing;
  if (options.fault !== null && options.keepFault !== true) for (const device of targets) device.proxy.clearFaults();
  return { edits, bytes, polls, violations };
}
