/** `fos list [DIR] [-l] [-R] [--json]`: a folder on the server. */
import type { Command } from 'commander';
import type { Entry } from '../protocol/types.js';
import { addConnectOptions, addProgramExample, addOutputOptions, printJson, remoteArg, withSession } from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import { entryJson, formatLong, formatShort } from './format.js';
import type { CliIo } from './main.js';

const EXAMPLES = `
Examples:
  $ fos list                    names in your root folder
  $ fos list -l docs            size, mtime (UTC), revision and name
  $ fos list -R --json photos   everything below photos, as JSON`;

interface ListFlags extends ConnectFlags {
  readonly long?: boolean;
  readonly recursive?: boolean;
}

/** Registers `fos list`. */
export function registerListCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos list -l docs');
  const command = program
    .command('list')
    .description('list a folder on the server')
    .argument('[dir]', 'remote folder (default: your root)', '')
    .option('-l, --long', 'long form: kind, size, mtime (UTC), revision, name')
    .option('-R, --recursive', 'everything below the folder');
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (dir: string, flags: ListFlags) => {
    const folder = remoteArg(dir);
    const listing = await withSession(flags, io, (session) =>
      session.run((client) => client.list(folder, { recursive: flags.recursive === true, signal: session.signal })),
    );
    const entries = listing.entries.filter((entry) => !entry.deleted).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (flags.json === true) {
      printJson(io, entries.map(entryJson));
      return;
    }
    const name = (entry: Entry): string => (folder === '' ? entry.path : entry.path.slice(folder.length + 1));
    const lines = flags.long === true ? formatLong(entries, name) : formatShort(entries, name);
    if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
  });
}
