/** `fos delete REMOTE... [-r]`: files (and folders with -r) go to the server's trash. */
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import type { Entry } from '../protocol/types.js';
import { addConnectOptions, addProgramExample, addOutputOptions, batchError, baseRevOf, parseBaseRev, printError, printJson, remoteArg, withSession } from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import { entryJson } from './format.js';
import type { CliIo } from './main.js';

const EXAMPLES = `
Examples:
  $ fos delete old.txt
  $ fos delete -r drafts                 a folder with everything in it
  $ fos delete notes.txt --base-rev 41   only if nobody changed it since revision 41
  Deleted versions stay in the server's trash for its retention period.`;

interface DeleteFlags extends ConnectFlags {
  readonly recursive?: boolean;
  readonly baseRev?: number | 'none';
}

/** Registers `fos delete`. */
export function registerDeleteCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos delete -r drafts');
  const command = program
    .command('delete')
    .description('delete remote files (folders with -r)')
    .argument('<remote...>', 'remote files or folders')
    .option('-r, --recursive', 'delete folders with their content')
    .option('--base-rev <rev>', 'only if the entry is still at this revision', parseBaseRev);
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (remotes: string[], flags: DeleteFlags) => {
    const paths = remotes.map(remoteArg);
    if (paths.includes('')) throw new FosError('FOS_ERR_CLI_USAGE', 'the root folder cannot be deleted');
    if (flags.baseRev !== undefined && paths.length !== 1) throw new FosError('FOS_ERR_CLI_USAGE', '--base-rev applies to a single path');
    const failures: FosError[] = [];
    const tombstones: Entry[] = [];
    await withSession(flags, io, async (session) => {
      for (const path of paths) {
        try {
          const removed = await session.run((client) =>
            client.delete(path, {
              signal: session.signal,
              recursive: flags.recursive === true,
              ...baseRevOf(flags.baseRev),
            }),
          );
          tombstones.push(...removed);
          if (flags.json !== true && flags.quiet !== true) io.stdout.write(`deleted ${path}${removed.length > 1 ? ` (${removed.length} entries)` : ''}\n`);
        } catch (err) {
          if (!(err instanceof FosError) || session.signal.aborted) throw err;
          failures.push(err);
          if (paths.length > 1) printError(io, err);
        }
      }
    });
    if (flags.json === true) printJson(io, tombstones.map(entryJson));
    const error = batchError(failures, paths.length, 'deletions');
    if (error !== null) throw error;
  });
}
