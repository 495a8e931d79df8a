/** `fos logout`: revokes the stored device token on the server and forgets it here. */
import type { Command } from 'commander';
import { FosClient, retry } from '../client/index.js';
import { FosError } from '../errors.js';
import { saveClientConfig } from './client-config.js';
import { storedTls, addConnectOptions, addProgramExample, addOutputOptions, printJson, resolveTarget, withInterrupt } from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import type { CliIo } from './main.js';
import { tlsConnection } from './tls-trust.js';

const EXAMPLES = `
Examples:
  $ fos logout
  $ fos logout --config ~/.config/fos/work.json`;

/** Registers `fos logout`. */
export function registerLogoutCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos logout');
  const command = program.command('logout').description('revoke the stored device token and forget it');
  addConnectOptions(command);
  addOutputOptions(command);
  command.addHelpText('after', EXAMPLES).action(async (flags: ConnectFlags) => {
    const target = await resolveTarget(flags, io.env);
    const { token, tokenId: _tokenId, ...rest } = target.config;
    if (token === undefined) {
      if (flags.json === true) printJson(io, { server: target.server, user: target.user ?? null, revoked: false, forgotten: false });
      else if (flags.quiet !== true) io.stdout.write('not logged in\n');
      return;
    }
    const revoked = await withInterrupt(async (signal) => {
      try {
        const tls = await tlsConnection(flags, target.configPath, storedTls(target), io);
        const options = { address: target.address, credentials: { kind: 'token', token } as const, ...(tls === undefined ? {} : { connect: tls.connect }) };
        const client = await retry(() => FosClient.connect(options, signal), { retries: flags.retries ?? 3, signal });
        try {
          await client.revokeToken(undefined, { signal });
        } finally {
          await client.quit();
        }
        return true;
      } catch (err) {
        // A token the server no longer accepts is as good as revoked: forget it all the same.
        if (err instanceof FosError && err.code === 'FOS_ERR_AUTH_FAILED') return false;
        throw err;
      }
    });
    await saveClientConfig(target.configPath, rest);
    if (flags.json === true) printJson(io, { server: target.server, user: target.user ?? null, revoked, forgotten: true });
    else if (flags.quiet !== true) io.stdout.write(revoked ? `logged out of ${target.server}\n` : `the server had already refused this token; forgot it\n`);
  });
}
