/**
 * `fos sync`: one pass over every folder pair of the agent's config, then exit. Prints what
 * it did or, with --plan (alias --dry-run), every operation it would do and the totals.
 * --max-ops and --max-bytes stop a pass whose plan is larger, before it changes anything.
 * Exit codes: 0 in sync, 5 conflict copies were made, 7 a safety guard or a limit stopped
 * the pass or part of it (deletions held for a person, a missing or replaced folder, too
 * many operations or bytes).
 */
import type { Command } from 'commander';
import { exitCodeOf, openSyncSession, syncOnce } from '../agent/sync-session.js';
import type { PassLimits, PassReport } from '../sync/engine-types.js';
import { parseByteSize } from './byte-size.js';
import { addProgramExample, parseCount, withInterrupt } from './connect-options.js';
import type { CliIo } from './main.js';
import { formatReport } from './sync-format.js';
import { agentConfigPath, loadSyncSettings, readToken } from './sync-settings.js';

const EXAMPLES = `
Examples:
  $ fos sync                                one pass over every folder pair
  $ fos sync --plan                         every operation a pass would do, with totals
  $ fos sync --plan --json                  the same for scripts
  $ fos sync --max-ops 100 --max-bytes 2G   stop (exit 7, nothing changed) if the plan is larger
  $ fos sync --force                        carry out deletions a safety guard held back`;

interface SyncFlags {
  readonly config?: string;
  readonly plan?: boolean;
  readonly dryRun?: boolean;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly maxOps?: number;
  readonly maxBytes?: number;
}

/** Registers `fos sync`. */
export function registerSyncCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos sync --plan');
  program
    .command('sync')
    .description('sync every folder pair once and exit (0 in sync, 5 conflicts, 7 stopped by a safety guard or a limit)')
    .option('--config <file>', 'agent config (env FOS_AGENT_CONFIG, default ~/.config/fos/agent.json)')
    .option('--plan', 'print every operation a pass would do, with totals; change nothing')
    .option('--dry-run', 'the same as --plan')
    .option('--max-ops <n>', 'stop, changing nothing, when a plan has more operations (transfers, deletions, moves, folders, conflicts)', parseCount)
    .option('--max-bytes <size>', 'stop, changing nothing, when a plan moves more bytes up and down (500M, 2G)', parseByteSize)
    .option('--force', 'carry out deletions a safety guard held back (withdrawing their held batch), and adopt a replaced folder')
    .option('--json', 'print the pass reports as JSON')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: SyncFlags) => {
      const settings = await loadSyncSettings(agentConfigPath(flags.config, io.env));
      const token = await readToken(settings.tokenFile);
      const dryRun = flags.plan === true || flags.dryRun === true;
      const limits: PassLimits = {
        ...(flags.maxOps === undefined ? {} : { maxOps: flags.maxOps }),
        ...(flags.maxBytes === undefined ? {} : { maxBytes: flags.maxBytes }),
      };
      const hasLimits = flags.maxOps !== undefined || flags.maxBytes !== undefined;
      const reports = await withInterrupt(async (signal) => {
        const session = await openSyncSession(settings, { token });
        try {
          const out: PassReport[] = [];
          for (const pair of session.pairs) {
            out.push(await syncOnce(session, pair, { signal, dryRun, force: flags.force === true, ...(hasLimits ? { limits } : {}) }));
          }
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
