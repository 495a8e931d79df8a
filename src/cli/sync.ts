/**
 * `fos sync`: one pass over every folder pair of the agent's config, then exit. Prints what
 * it did (or, with --dry-run, would do). Exit codes: 0 in sync, 5 conflict copies were
 * made, 7 a safety guard stopped the pass (mass delete, missing or replaced folder).
 */
import type { Command } from 'commander';
import { exitCodeOf, openSyncSession, syncOnce } from '../agent/sync-session.js';
import type { PassReport } from '../sync/engine-types.js';
import { withInterrupt } from './connect-options.js';
import type { CliIo } from './main.js';
import { agentConfigPath, loadSyncSettings, readToken } from './sync-settings.js';

interface SyncFlags {
  readonly config?: string;
  readonly dryRun?: boolean;
  readonly force?: boolean;
  readonly json?: boolean;
}

/** Registers `fos sync`. */
export function registerSyncCommand(program: Command, io: CliIo): void {
  program
    .command('sync')
    .description('sync every folder pair once and exit (0 in sync, 5 conflicts, 7 stopped by a safety guard)')
    .option('--config <file>', 'agent config (env FOS_AGENT_CONFIG, default ~/.config/fos/agent.json)')
    .option('--dry-run', 'print the plan; change nothing')
    .option('--force', 'carry out deletions a safety guard held back, and adopt a replaced folder')
    .option('--json', 'print the pass reports as JSON')
    .action(async (flags: SyncFlags) => {
      const settings = await loadSyncSettings(agentConfigPath(flags.config, io.env));
      const token = await readToken(settings.tokenFile);
      const reports = await withInterrupt(async (signal) => {
        const session = await openSyncSession(settings, { token });
        try {
          const out: PassReport[] = [];
          for (const pair of session.pairs) out.push(await syncOnce(session, pair, { signal, dryRun: flags.dryRun === true, force: flags.force === true }));
          return out;
        } finally {
          await session.close();
        }
      });
      const exitCode = exitCodeOf(reports);
      if (flags.json === true) io.stdout.write(`${JSON.stringify({ exitCode, pairs: reports }, null, 2)}\n`);
      else for (const report of reports) io.stdout.write(formatReport(report));
      process.exitCode = exitCode;
    });
}

/** The human summary of one pass. */
export function formatReport(report: PassReport): string {
  const lines: string[] = [];
  const where = `${report.local} <-> ${report.remote === '' ? '/' : `/${report.remote}`}`;
  if (report.dryRun) {
    lines.push(`${where}: ${report.planned.length === 0 ? 'nothing to do' : `${report.planned.length} operations planned`}`);
    for (const op of report.planned) lines.push(`  ${op.kind.padEnd(12)} ${op.path}${op.to === undefined ? '' : ` -> ${op.to}`}  (${op.rule})`);
  } else {
    const d = report.execution.done;
    const parts = [
      `${d.upload} uploaded`,
      `${d.download} downloaded`,
      `${d.deleteRemote + d.deleteLocal} deleted`,
      `${d.moveRemote + d.moveLocal} moved`,
      `${report.execution.conflicts.length} conflict copies`,
    ];
    lines.push(`${where}: ${report.inSync ? 'in sync' : 'not fully in sync'} (${parts.join(', ')})`);
    for (const c of report.execution.conflicts) lines.push(`  conflict: ${c.path}: the other version is kept as ${c.copyPath}`);
    for (const f of report.execution.failed) lines.push(`  error: ${f.path}: ${f.message} (${f.code}); next try ${new Date(f.nextRetryAt).toISOString()}`);
    for (const s of report.execution.skipped) lines.push(`  later: ${s.path} (${s.reason})`);
    if (report.execution.offline) lines.push('  the server could not be reached; run again later');
  }
  if (report.guard !== null) lines.push(`  stopped: ${report.guard.message}`);
  for (const p of report.problems) lines.push(`  held: ${p.path} (${p.code})`);
  return `${lines.join('\n')}\n`;
}
