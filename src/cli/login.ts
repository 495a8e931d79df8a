/**
 * `fos login`: asks for the password once, has the server issue a device token, and keeps
 * server, user and token in the client config (mode 0600). The password is never stored.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { FosClient, retry } from '../client/index.js';
import { FosError } from '../errors.js';
import { saveClientConfig } from './client-config.js';
import { storedTls, addConnectOptions, addProgramExample, addOutputOptions, printJson, promptPassword, requireUser, resolveTarget, withInterrupt } from './connect-options.js';
import { readLine } from './password-input.js';
import { isTerminal } from './terminal.js';
import type { ConnectFlags } from './connect-options.js';
import type { CliIo } from './main.js';
import { tlsConnection } from './tls-trust.js';

const EXAMPLES = `
Examples:
  $ fos login --server files.example.net:12345 --user alice
  $ echo "$PASSWORD" | fos login --user alice --password-stdin
  $ fos login --device laptop           name this machine's token`;

interface LoginFlags extends ConnectFlags {
  readonly device?: string;
  readonly passwordStdin?: boolean;
}

/** Registers `fos login`. */
export function registerLoginCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos login --server files.example.net:12345 --user alice');
  const command = program
    .command('login')
    .description('log in once and store a device token for later commands and the agent')
    .option('--device <name>', 'name of this device on the server (default: the host name)')
    .option('--password-stdin', 'read the password from stdin (for scripts)');
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (flags: LoginFlags) => {
    const target = await resolveTarget(flags, io.env);
    const user = requireUser(target);
    const device = flags.device ?? hostname();
    const stored = await withInterrupt(async (signal) => {
      const password = await readPassword(io, flags, `Password for ${user} on ${target.server}:`, signal);
      const tls = await tlsConnection(flags, target.configPath, storedTls(target), io);
      const options = { address: target.address, credentials: { kind: 'password', user, password } as const, ...(tls === undefined ? {} : { connect: tls.connect }) };
      const client = await retry(() => FosClient.connect(options, signal), { retries: flags.retries ?? 3, signal });
      try {
        const issued = await client.issueToken(device, { signal });
        const old = target.config.tokenId;
        if (old !== undefined && target.config.user === user && old !== issued.id) {
          // The token this login replaces is of no use any more; a failure only leaves it listed.
          await client.revokeToken(old, { signal }).catch(() => undefined);
        }
        const config = { ...target.config, server: target.server, user, token: issued.token, tokenId: issued.id, device, ...(tls === undefined ? {} : tls.stored) };
        await saveClientConfig(target.configPath, config);
        const fingerprint = tls?.lastFingerprint();
        return { server: target.server, user: client.user, device, tokenId: issued.id, ...(fingerprint === undefined ? {} : { fingerprint }) };
      } finally {
        await client.quit();
      }
    });
    if (flags.json === true) printJson(io, { ...stored, config: target.configPath });
    else if (flags.quiet !== true) {
      const over = stored.fingerprint === undefined ? '' : ` over TLS, certificate ${stored.fingerprint}`;
      io.stdout.write(`logged in as ${stored.user} on ${stored.server}${over} (device ${device}); token stored in ${target.configPath}\n`);
    }
  });
}

/**
 * The password from the first line of stdin (`--password-stdin`), `FOS_PASSWORD`, or a prompt on a terminal.
 * @throws FosError `FOS_ERR_AUTH_NO_CREDENTIALS` when there is no way to get one.
 */
async function readPassword(io: CliIo, flags: LoginFlags, message: string, signal: AbortSignal): Promise<string> {
  if (flags.passwordStdin === true) {
    const text = await readLine(io.stdin);
    if (text === '') throw new FosError('FOS_ERR_AUTH_NO_CREDENTIALS', 'no password on stdin');
    return text;
  }
  const fromEnv = io.env['FOS_PASSWORD'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (isTerminal(io.stdin)) return promptPassword(io, message, signal);
  throw new FosError('FOS_ERR_AUTH_NO_CREDENTIALS', 'no password: use --password-stdin, set FOS_PASSWORD, or run on a terminal');
}
