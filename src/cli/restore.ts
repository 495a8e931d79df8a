/** `fos restore DIR --at TIME [--dry-run]`: a folder on the server back to its state at a moment. */
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import type { RestoreReport, RestoreStep } from '../client/index.js';
import { addConnectOptions, addOutputOptions, addProgramExample, printJson, remoteArg, withSession } from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import { formatBytes } from './format.js';
import type { CliIo } from './main.js';
import { parseMoment } from './moment.js';

const EXAMPLES = `
Examples:
  $ fos restore docs --at 2h --dry-run          what would change to bring docs back to two hours ago
  $ fos restore docs --at 2026-11-24T10:15:02Z  do it (UTC)
  $ fos restore / --at "2026-11-24 10:15"       everything, to a local time
  Files added since go to the server's trash, and so do the versions replaced: a restore
  can itself be undone by restoring to a moment just before it.`;

interface RestoreFlags extends ConnectFlags {
  readonly at: string;
  readonly dryRun?: boolean;
}

/** Registers `fos restore`. */
export function registerRestoreCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos restore docs --at 2h --dry-run');
  const command = program
    .command('restore')
    .description("return a remote folder to its state at a moment, from the server's history and trash")
    .argument('<dir>', 'remote folder (/ for everything)')
    .requiredOption('--at <time>', 'the moment: ISO 8601 (2026-11-24T10:15:02Z, or local time without Z) or a time ago (2h, 3d)')
    .option('-n, --dry-run', 'show what would change, change nothing');
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (dir: string, flags: RestoreFlags) => {
    const folder = remoteArg(dir);
    const at = parseMoment(flags.at, Date.now());
    const dryRun = flags.dryRun === true;
    const report = await withSession(flags, io, (session) =>
      session.run((client) => client.restore(folder, at, { dryRun, signal: session.signal })),
    ).catch((err: unknown) => {
      throw asUsage(err);
    });
    if (flags.json === true) printJson(io, report);
    else printReport(io, report);
    // Most often a mistyped folder: say so rather than succeed in silence.
    if (report.steps.length === 0 && report.unchanged === 0 && flags.quiet !== true) {
      io.stderr.write(`fos: note: nothing at ${folder === '' ? 'the root' : folder}, then or now\n`);
    }
    if (report.unrecoverable > 0) {
      const versions = report.unrecoverable === 1 ? 'version is' : 'versions are';
      throw new FosError(
        'FOS_ERR_PATH_NOT_FOUND',
        `${report.unrecoverable} ${versions} no longer in the server's trash; what is there now was left as it is`,
      );
    }
  });
}

/** The server's refusal of the moment (in the future, or before its trash's retention window) is a usage error. */
function asUsage(err: unknown): unknown {
  if (!(err instanceof FosError) || err.code !== 'FOS_ERR_PROTO_BAD_REQUEST') return err;
  const reason = err.details['reason'];
  return reason === 'future' || reason === 'retention' ? new FosError('FOS_ERR_CLI_USAGE', err.message, { cause: err }) : err;
}

function printReport(io: CliIo, report: RestoreReport): void {
  const lines = report.steps.map((step) => stepLine(step, report.dryRun));
  const width = Math.max(0, ...lines.map(([verb]) => verb.length));
  for (const [verb, text] of lines) io.stdout.write(`${verb.padEnd(width)}  ${text}\n`);
  const where = report.path === '' ? 'everything' : report.path;
  const when = new Date(report.at).toISOString();
  const counts = `${report.restored} restored, ${report.deleted} deleted, ${report.created} created, ${report.unchanged} unchanged, ${report.unrecoverable} unrecoverable`;
  if (report.dryRun) io.stdout.write(`dry run, nothing changed: ${where} at ${when} would be ${counts}\n`);
  else if (report.rev === null) io.stdout.write(`${where} is as it was at ${when}: ${counts}\n`);
  else io.stdout.write(`${where} is back at ${when}: ${counts} (revision ${report.rev})\n`);
}

/** The verb and the rest of one line of the human output. */
function stepLine(step: RestoreStep, dryRun: boolean): [string, string] {
  switch (step.action) {
    case 'restore': {
      const over = step.replaces === null ? '' : `, replacing the ${step.replaces === 'dir' ? 'folder' : 'current version'}`;
      return [dryRun ? 'restore' : 'restored', `${step.path} (${formatBytes(step.size)}${over})`];
    }
    case 'delete':
      return [dryRun ? 'delete' : 'deleted', step.kind === 'dir' ? `${step.path}/` : step.path];
    case 'mkdir':
      return [dryRun ? 'create' : 'created', `${step.path}/${step.replaces === 'file' ? ' (replacing a file)' : ''}`];
    case 'unrecoverable':
      return ['missing', `${step.path} (its version is ${step.reason === 'missing' ? 'no longer in the trash' : 'damaged in the trash'}; left as it is)`];
    default: {
      const never: never = step;
      return never;
    }
  }
}
