/** `fos download REMOTE... [--out DIR] [-r]`: files and folders from the server, mtimes kept. */
import type { Command } from 'commander';
import { addConnectOptions, addProgramExample, addOutputOptions, batchError, parseCount, printError, printJson, remoteArg, withSession } from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import { planDownload, runDownload } from './download-tree.js';
import { formatBytes } from './format.js';
import type { CliIo } from './main.js';

const EXAMPLES = `
Examples:
  $ fos download report.pdf                  into the current folder
  $ fos download docs/a.txt docs/b.txt --out ~/in
  $ fos download -r photos --out ~/backup    a folder with everything in it
  A cut download resumes when run again; the file appears only once it is complete.`;

interface DownloadFlags extends ConnectFlags {
  readonly out: string;
  readonly recursive?: boolean;
  readonly jobs: number;
  readonly compress?: boolean;
}

/** Registers `fos download`. */
export function registerDownloadCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos download -r photos --out ~/restore');
  const command = program
    .command('download')
    .description('download files (and folders with -r) from the server, keeping mtimes')
    .argument('<remote...>', 'remote files or folders')
    .option('--out <dir>', 'local folder to download into', '.')
    .option('-r, --recursive', 'download folders with their content')
    .option('-j, --jobs <n>', 'files fetched at once', parseCount, 4)
    .option('-z, --compress', 'ask the server to gzip chunks that shrink');
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (remotes: string[], flags: DownloadFlags) => {
    const paths = remotes.map(remoteArg);
    const { results, failures, count } = await withSession(
      flags,
      io,
      async (session) => {
        const plan = await planDownload(session, paths, flags.out, flags.recursive === true);
        const total = plan.files.length;
        const outcome = await runDownload(session, io, plan, {
          jobs: flags.jobs,
          quiet: flags.quiet === true,
          compress: flags.compress === true,
          // A single failure is the command's own error, printed once at exit.
          onError: (err) => (total > 1 ? printError(io, err) : undefined),
        });
        return { ...outcome, count: total };
      },
      Math.max(1, flags.jobs),
    );
    if (flags.json === true) {
      printJson(
        io,
        results.map(({ local, entry }) => ({ path: entry.path, local, kind: entry.kind, size: entry.size, mtimeMs: entry.mtimeMs, sha256: entry.sha256, rev: entry.rev })),
      );
    } else if (flags.quiet !== true) {
      for (const { local, entry } of results) {
        if (entry.kind === 'file') io.stdout.write(`downloaded ${local} (${formatBytes(entry.size)})\n`);
      }
    }
    const error = batchError(failures, count, 'downloads');
    if (error !== null) throw error;
  });
}
