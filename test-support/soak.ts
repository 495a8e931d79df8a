/**
 * `npm run soak -- --minutes N [--seed S] [--kills K]` (issue 9, "Done when" 4): a server
 * and two agents on loopback, each agent behind a fault proxy, with random edits, proxy
 * faults and `kill -9` of the server and the agents for N minutes (and at least K kills,
 * 100 by default, so the crash loop of "Done when" 1 runs here in full). Every cycle ends
 * with a convergence check and the invariants; the run ends with a summary and exits 1 on
 * any invariant violation. Everything runs under a temporary folder, removed on success.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCycle } from './soak-cycle.js';
import type { FaultKind, KillKind } from './soak-cycle.js';
import { seededRandom } from './soak-edits.js';
import type { EditKind } from './soak-edits.js';
import type { Violation } from './soak-ledger.js';
import { World } from './soak-world.js';

/** Log messages by which an agent reports trouble it is retrying. */
const TROUBLE = new Set(['retrying', 'operation failed', 'sync pass failed', 'server watch lost; reconnecting']);
/** Hard stop: the soak never runs longer than its minutes plus this. */
const OVERRUN_MS = 15 * 60_000;

interface Totals {
  cycles: number;
  edits: Record<EditKind, number>;
  faults: Partial<Record<FaultKind, number>>;
  kills: Record<KillKind, number>;
  bytesWritten: number;
  violations: Violation[];
  slowestConvergeMs: number;
}

function positive(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, not ${JSON.stringify(text)}`);
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { minutes: { type: 'string' }, seed: { type: 'string' }, kills: { type: 'string' } },
    allowPositionals: false,
  });
  const minutes = positive(values.minutes, 'minutes', 5);
  const minKills = Math.floor(positive(values.kills, 'kills', 100));
  const seed = Math.floor(positive(values.seed, 'seed', 1 + (Date.now() % 1_000_000)));
  const random = seededRandom(seed);
  const root = await mkdtemp(join(tmpdir(), 'fos-soak-'));
  process.stdout.write(`soak: ${minutes} min, at least ${minKills} kills, seed ${seed}, in ${root}\n`);
  const world = await World.create({ root });
  const totals: Totals = {
    cycles: 0,
    edits: { create: 0, rewrite: 0, rename: 0, delete: 0 },
    faults: {},
    kills: { server: 0, agent: 0, both: 0 },
    bytesWritten: 0,
    violations: [],
    slowestConvergeMs: 0,
  };
  const started = Date.now();
  const endAt = started + minutes * 60_000;
  const killCount = (): number => totals.kills.server + totals.kills.agent + totals.kills.both;
  let stopRequested = false;
  const onSignal = (): void => {
    stopRequested = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await world.checkpoint(120_000);
    while (!stopRequested && (Date.now() < endAt || killCount() < minKills) && Date.now() < endAt + OVERRUN_MS) {
      const report = await runCycle(world, { random, editMs: 3000 + Math.floor(random() * 3000), kills: 1 + Math.floor(random() * 2), convergeMs: 150_000, maxBytes: 1024 * 1024 });
      totals.cycles += 1;
      for (const kind of Object.keys(report.edits) as EditKind[]) totals.edits[kind] += report.edits[kind];
      totals.faults[report.fault] = (totals.faults[report.fault] ?? 0) + 1;
      for (const kill of report.kills) totals.kills[kill] += 1;
      totals.bytesWritten += report.bytesWritten;
      totals.violations.push(...report.violations);
      totals.slowestConvergeMs = Math.max(totals.slowestConvergeMs, report.convergeMs);
      const elapsed = Math.round((Date.now() - started) / 1000);
      process.stdout.write(
        `cycle ${totals.cycles} (${elapsed} s): fault ${report.fault}, kills ${report.kills.join('+') || 'none'}, converged in ${report.convergeMs} ms, violations ${report.violations.length}\n`,
      );
      for (const v of report.violations) process.stdout.write(`  VIOLATION ${v.kind}: ${v.detail}\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const proxied = world.devices.reduce((n, d) => n + d.proxy.stats().bytes.up + d.proxy.stats().bytes.down, 0);
    const resets = world.devices.reduce((n, d) => n + d.proxy.stats().resets, 0);
    const trouble = world.devices.reduce((n, d) => n + d.agent.records().filter((r) => TROUBLE.has(String(r['msg']))).length, 0);
    const operations = totals.edits.create + totals.edits.rewrite + totals.edits.rename + totals.edits.delete;
    const faults = Object.entries(totals.faults).map(([k, n]) => `${k} ${n}`).join(', ');
    const summary = [
      '',
      'soak summary',
      `  duration            ${((Date.now() - started) / 60_000).toFixed(1)} min, seed ${seed}`,
      `  cycles              ${totals.cycles} (each ends converged and checked)`,
      `  operations          ${operations} edits (create ${totals.edits.create}, rewrite ${totals.edits.rewrite}, rename ${totals.edits.rename}, delete ${totals.edits.delete})`,
      `  faults injected     ${faults}; ${killCount()} kill -9 (server ${totals.kills.server}, agent ${totals.kills.agent}, both ${totals.kills.both}); ${resets} connections reset by the proxies`,
      `  bytes moved         ${totals.bytesWritten} written by the editors, ${proxied} through the proxies`,
      `  contents            ${world.ledger.knownCount} written, ${world.ledger.syncedCount} present at a successful sync`,
      `  slowest convergence ${totals.slowestConvergeMs} ms`,
      `  trouble reported    ${trouble} agent log records (retries, failed operations, lost watches)`,
      `  invariant violations ${totals.violations.length}`,
      '',
    ];
    process.stdout.write(summary.join('\n'));
    if (totals.violations.length > 0) await world.saveLogs();
    await world.close();
    if (totals.violations.length === 0) await rm(root, { recursive: true, force: true });
    else process.stdout.write(`kept ${root} for inspection (agent logs in each device's agent.log)\n`);
  }
  return totals.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
