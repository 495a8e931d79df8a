/** `fos preview REMOTE [--bytes N]`: the first bytes of a file, raw, to stdout. */
import type { Command } from 'commander';
import { DEFAULT_PREVIEW_BYTES, MAX_PREVIEW_BYTES } from '../protocol/constants.js';
import { FosError } from '../errors.js';
import { addConnectOptions, addProgramExample, addOutputOptions, parseCount, printJson, remoteArg, withSession } from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import type { CliIo } from './main.js';

const EXAMPLES = `
Examples:
  $ fos preview notes.txt                the first 1024 bytes
  $ fos preview log/app.log --bytes 200
  $ fos preview image.png --json         base64 in JSON, for scripts`;

interface PreviewFlags extends ConnectFlags {
  readonly bytes: number;
}

/** Registers `fos preview`. */
export function registerPreviewCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos preview notes.txt --bytes 200');
  const command = program
    .command('preview')
    .description('print the first bytes of a remote file')
    .argument('<remote>', 'remote file')
    .option('--bytes <n>', `how many bytes (at most ${MAX_PREVIEW_BYTES})`, parseCount, DEFAULT_PREVIEW_BYTES);
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (remote: string, flags: PreviewFlags) => {
    if (flags.bytes < 1 || flags.bytes > MAX_PREVIEW_BYTES) {
      throw new FosError('FOS_ERR_CLI_USAGE', `--bytes must be between 1 and ${MAX_PREVIEW_BYTES}`);
    }
    const path = remoteArg(remote);
    const preview = await withSession(flags, io, (session) =>
      session.run((client) => client.preview(path, { bytes: flags.bytes, signal: session.signal })),
    );
    if (flags.json === true) {
      printJson(io, {
        path: preview.entry.path,
        size: preview.entry.size,
        bytes: preview.data.length,
        truncated: preview.data.length < preview.entry.size,
        data: preview.data.toString('base64'),
      });
      return;
    }
    io.stdout.write(preview.data);
  });
}
