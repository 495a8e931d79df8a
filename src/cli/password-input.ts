/**
 * Reading a new password for `fos user`: one line of standard input with
 * `--password-stdin`, or a prompt without echo (typed twice) on a terminal.
 */
import password from '@inquirer/password';
import { FosError } from '../errors.js';
import { checkPasswordPolicy } from '../store/accounts.js';
import type { CliIo } from './main.js';
import { isTerminal } from './terminal.js';

/**
 * A new password for `user`, checked against the password policy.
 * @throws FosError `FOS_ERR_CLI_USAGE` when stdin is not a terminal and `fromStdin` is
 * false, or the two typed passwords differ; `FOS_ERR_AUTH_WEAK_PASSWORD` from the policy;
 * `FOS_ERR_CLI_ABORTED` when the prompt is cancelled.
 */
export async function readNewPassword(io: CliIo, user: string, fromStdin: boolean): Promise<string> {
  let text: string;
  if (fromStdin) {
    text = await readLine(io.stdin);
  } else if (isTerminal(io.stdin)) {
    text = await prompt(io, `New password for ${user}:`);
    if ((await prompt(io, 'Repeat it:')) !== text) throw new FosError('FOS_ERR_CLI_USAGE', 'the two passwords differ');
  } else {
    throw new FosError('FOS_ERR_CLI_USAGE', 'standard input is not a terminal: use --password-stdin');
  }
  checkPasswordPolicy(text);
  return text;
}

/**
 * The first line of a stream, without its line ending.
 * @throws FosError `FOS_ERR_CLI_USAGE` when the stream fails.
 */
export function readLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    const done = (): void => {
      stream.off('data', onData);
      stream.off('end', done);
      stream.off('error', onError);
      stream.pause();
      resolve(text.replace(/\r?\n[\s\S]*$/u, ''));
    };
    const onData = (chunk: Buffer | string): void => {
      text += chunk.toString();
      if (text.includes('\n')) done();
    };
    const onError = (err: Error): void => reject(new FosError('FOS_ERR_CLI_USAGE', `cannot read standard input: ${err.message}`, { cause: err }));
    stream.on('data', onData);
    stream.once('end', done);
    stream.once('error', onError);
    stream.resume();
  });
}

async function prompt(io: CliIo, message: string): Promise<string> {
  try {
    return await password({ message, mask: false }, { input: io.stdin, output: io.stderr });
  } catch (err) {
    throw new FosError('FOS_ERR_CLI_ABORTED', 'password prompt cancelled', { cause: err });
  }
}
