/** `fos move FROM TO`: renames a file or a whole folder on the server. */
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import { baseName, joinRemote } from '../fs/remote-path.js';
import { addConnectOptions, addProgramExample, addOutputOptions, baseRevOf, parseBaseRev, printJson, remoteArg, withSession } from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import { entryJson } from './format.js';
import type { CliIo } from './main.js';

const EXAMPLES = `
Examples:
  $ fos move draft.txt final.txt
  $ fos move report.pdf archive/         into a folder (a trailing / keeps the name)
  $ fos move photos pictures             a folder moves whole`;

interface MoveFlags extends ConnectFlags {
  readonly baseRev?: number | 'none';
}

/** Registers `fos move`. */
export function registerMoveCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos move draft.txt final.txt');
  const command = program
    .command('move')
    .description('rename or move a remote file or folder')
    .argument('<from>', 'remote path')
    .argument('<to>', 'new remote path; ending in / means "into this folder"')
    .option('--base-rev <rev>', 'only if the entry is still at this revision', parseBaseRev);
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (fromArg: string, toArg: string, flags: MoveFlags) => {
    const from = remoteArg(fromArg);
    const target = remoteArg(toArg);
    const to = toArg.endsWith('/') ? joinRemote(target, baseName(from)) : target;
    if (from === '' || to === '') throw new FosError('FOS_ERR_CLI_USAGE', 'the root folder cannot be moved or replaced');
    const entries = await withSession(flags, io, (session) =>
      session.run((client) => client.move(from, to, { signal: session.signal, ...baseRevOf(flags.baseRev) })),
    );
    if (flags.json === true) printJson(io, entries.map(entryJson));
    else if (flags.quiet !== true) io.stdout.write(`moved ${from} -> ${to}\n`);
  });
}
