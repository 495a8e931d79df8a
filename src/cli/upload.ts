/** `fos upload LOCAL... [--to DIR] [-r]`: files and folders to the server. */
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import {
  addConnectOptions,
  addOutputOptions,
  addProgramExample,
  batchError,
  baseRevOf,
  parseBaseRev,
  parseCount,
  printError,
  printJson,
  remoteArg,
  withSession,
} from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import { formatBytes } from './format.js';
import type { CliIo } from './main.js';
import { planUpload, runUpload } from './upload-tree.js';

const EXAMPLES = `
Examples:
  $ fos upload report.pdf                 to your root folder
  $ fos upload *.jpg --to photos/2026     several files into a folder
  $ fos upload -r projects --to backup    a folder with everything in it
  $ fos upload notes.txt --base-rev 41    only if the server still has revision 41`;

interface UploadFlags extends ConnectFlags {
  readonly to: string;
  readonly recursive?: boolean;
  readonly jobs: number;
  readonly baseRev?: number | 'none';
  readonly compress?: boolean;
}

/** Registers `fos upload`. */
export function registerUploadCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos upload -r photos --to backup');
  const command = program
    .command('upload')
    .description('upload files (and folders with -r) to the server')
    .argument('<local...>', 'local files or folders')
    .option('--to <dir>', 'remote folder to upload into (default: your root)', '')
    .option('-r, --recursive', 'upload folders with their content')
    .option('-j, --jobs <n>', 'files sent at once', parseCount, 4)
    .option('--base-rev <rev>', "only if the server's file is still at this revision ('none': only if it does not exist)", parseBaseRev)
    .option('-z, --compress', 'gzip chunks that shrink');
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (locals: string[], flags: UploadFlags) => {
    const toDir = remoteArg(flags.to);
    const warn = (message: string): void => {
      if (flags.quiet !== true) io.stderr.write(`fos: ${message}\n`);
    };
    const plan = await planUpload(locals, toDir, flags.recursive === true, warn);
    if (flags.baseRev !== undefined && (plan.files.length !== 1 || plan.folders.length > 0)) {
      throw new FosError('FOS_ERR_CLI_USAGE', '--base-rev applies to a single file');
    }
    const count = plan.files.length + plan.folders.length;
    const { results, failures } = await withSession(
      flags,
      io,
      (session) =>
        runUpload(session, io, plan, {
          jobs: flags.jobs,
          quiet: flags.quiet === true,
          compress: flags.compress === true,
          // A single failure is the command's own error, printed once at exit.
          onError: (err) => (count > 1 ? printError(io, err) : undefined),
          ...baseRevOf(flags.baseRev),
        }),
      Math.max(1, Math.min(flags.jobs, plan.files.length)),
    );
    if (flags.json === true) {
      printJson(
        io,
        results.map(({ local, entry }) => ({ local, path: entry.path, kind: entry.kind, size: entry.size, mtimeMs: entry.mtimeMs, sha256: entry.sha256, rev: entry.rev })),
      );
    } else if (flags.quiet !== true) {
      for (const { entry } of results) {
        if (entry.kind === 'file') io.stdout.write(`uploaded ${entry.path} (${formatBytes(entry.size)})\n`);
      }
    }
    const error = batchError(failures, count, 'uploads');
    if (error !== null) throw error;
  });
}
