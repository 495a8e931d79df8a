/**
 * `fos init`: writes a starter agent config and stores a device token. From flags alone
 * for scripts (`fos init --config FILE --server HOST:PORT --user NAME --folder DIR
 * [--remote DIR] --state DIR --device NAME`, password from FOS_PASSWORD or
 * --password-stdin), or asking for what is missing on a terminal. The password is used
 * once to log in and never stored.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { FosClient, parseServerAddress, retry } from '../client/index.js';
import { FosError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { isTerminal, promptPassword, withInterrupt } from './connect-options.js';
import type { CliIo } from './main.js';
import { agentConfigPath, loadSyncSettings } from './sync-settings.js';
import { addTlsOptions, tlsConnection } from './tls-trust.js';
import type { TlsConnection, TlsFlags } from './tls-trust.js';

/** Event debounce written into a starter config. */
const STARTER_DEBOUNCE_MS = 100;
/** Settle time written into a starter config. */
const STARTER_SETTLE_MS = 150;

interface InitFlags extends TlsFlags {
  readonly config?: string;
  readonly server?: string;
  readonly user?: string;
  readonly folder?: string;
  readonly remote?: string;
  readonly state?: string;
  readonly device?: string;
  readonly passwordStdin?: boolean;
  readonly compress?: boolean;
  readonly json?: boolean;
}

/** Registers `fos init`. */
export function registerInitCommand(program: Command, io: CliIo): void {
  const command = program
    .command('init')
    .description('write a starter agent config and store a device token (asks on a terminal, or takes flags)')
    .option('--config <file>', 'where to write the config (env FOS_AGENT_CONFIG, default ~/.config/fos/agent.json)')
    .option('--server <host:port>', 'server address')
    .option('--user <name>', 'user name')
    .option('--folder <dir>', 'local folder to sync')
    .option('--remote <dir>', 'remote folder to pair it with (default: the user root)', '')
    .option('--state <dir>', 'state folder (manifests, status, token; default: beside the config)')
    .option('--device <name>', 'name of this device (default: the host name)')
    .option('--password-stdin', 'read the password from stdin (else FOS_PASSWORD, else a prompt)')
    .option('-z, --compress', 'compress transfers (writes "compress": true; for slow links, as rsync -z)')
    .option('--json', 'print what was written as JSON');
  // TLS as fos login takes it; the certificate seen (or the CA) is written into the config,
  // since the agent has nobody to ask later.
  addTlsOptions(command).action(async (flags: InitFlags) => {
    const configPath = resolve(agentConfigPath(flags.config, io.env));
    const answers = await complete(flags, io);
    const stateDir = resolve(answers.state ?? join(dirname(configPath), 'state'));
    const tokenFile = join(stateDir, 'token');
    const tls = await tlsConnection({ ...flags, knownHosts: flags.knownHosts ?? join(stateDir, 'known_hosts') }, configPath, {}, io);
    const issued = await withInterrupt(async (signal) => {
      const password = await readPassword(io, flags, `Password for ${answers.user} on ${answers.server}:`, signal);
      const options = {
        address: parseServerAddress(answers.server),
        credentials: { kind: 'password', user: answers.user, password } as const,
        ...(tls === undefined ? {} : { connect: tls.connect }),
      };
      const client = await retry(() => FosClient.connect(options, signal), { retries: 3, signal });
      try {
        return await client.issueToken(answers.device, { signal });
      } finally {
        await client.quit();
      }
    });
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(tokenFile, `${issued.token}\n`);
    await chmod(tokenFile, 0o600);
    const config = {
      agent: {
        server: answers.server,
        user: answers.user,
        tokenFile,
        ...(tls === undefined ? {} : { tls: agentTls(tls) }),
        device: answers.device,
        stateDir,
        folders: [{ local: resolve(answers.folder), remote: answers.remote }],
        ignore: [],
        rescanIntervalSec: 300,
        // A saved file reaches the other devices in well under a second; a file still
        // being written waits until it has held still this long.
        debounceMs: STARTER_DEBOUNCE_MS,
        settleMs: STARTER_SETTLE_MS,
        concurrency: 4,
        ...(flags.compress === true ? { compress: true } : {}),
        maxDeleteShare: 0.5,
        logLevel: 'info',
      },
    };
    await mkdir(dirname(configPath), { recursive: true });
    await writeFileAtomic(configPath, `${JSON.stringify(config, null, 2)}\n`);
    await mkdir(resolve(answers.folder), { recursive: true });
    // Read back through the validator, so a config `fos init` writes always loads.
    await loadSyncSettings(configPath);
    if (flags.json === true) io.stdout.write(`${JSON.stringify({ config: configPath, tokenFile, tokenId: issued.id }, null, 2)}\n`);
    else io.stdout.write(`wrote ${configPath}; device token for ${answers.device} stored in ${tokenFile}\nnext: fos sync --config ${configPath}\n`);
  });
}

/** The agent's TLS settings: the CA given, or the fingerprint of the server just trusted. */
function agentTls(tls: TlsConnection): { readonly ca: string } | { readonly fingerprint: string } {
  if (tls.stored.ca !== undefined) return { ca: tls.stored.ca };
  const seen = tls.lastFingerprint();
  if (seen === undefined) throw new FosError('FOS_ERR_NET_TLS', 'no TLS connection was made, so there is no fingerprint to pin');
  return { fingerprint: seen };
}

interface Answers {
  readonly server: string;
  readonly user: string;
  readonly folder: string;
  readonly remote: string;
  readonly state: string | undefined;
  readonly device: string;
}

/** Fills in missing answers on a terminal; without one, missing required flags are an error. */
async function complete(flags: InitFlags, io: CliIo): Promise<Answers> {
  const tty = isTerminal(io.stdin) && flags.passwordStdin !== true;
  const rl = tty ? createInterface({ input: io.stdin, output: io.stderr }) : null;
  try {
    const ask = async (value: string | undefined, name: string, question: string, fallback?: string): Promise<string> => {
      if (value !== undefined && value !== '') return value;
      if (rl === null) {
        if (fallback !== undefined) return fallback;
        throw new FosError('FOS_ERR_CLI_USAGE', `missing --${name} (or run fos init on a terminal to be asked)`);
      }
      const answer = (await rl.question(`${question}${fallback === undefined ? '' : ` [${fallback}]`}: `)).trim();
      if (answer !== '') return answer;
      if (fallback !== undefined) return fallback;
      throw new FosError('FOS_ERR_CLI_USAGE', `${name} is required`);
    };
    const server = await ask(flags.server, 'server', 'Server (host:port)', '127.0.0.1:12345');
    parseServerAddress(server);
    const user = await ask(flags.user, 'user', 'User name');
    const folder = await ask(flags.folder, 'folder', 'Local folder to sync');
    const remote = (flags.remote ?? '').replace(/^\/+|\/+$/gu, '');
    const device = await ask(flags.device, 'device', 'Name of this device', hostname());
    return { server, user, folder, remote, state: flags.state, device };
  } finally {
    rl?.close();
  }
}

async function readPassword(io: CliIo, flags: InitFlags, message: string, signal: AbortSignal): Promise<string> {
  if (flags.passwordStdin === true) {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/u, '');
    if (text === '') throw new FosError('FOS_ERR_AUTH_NO_CREDENTIALS', 'no password on stdin');
    return text;
  }
  const fromEnv = io.env['FOS_PASSWORD'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (isTerminal(io.stdin)) return promptPassword(io, message, signal);
  throw new FosError('FOS_ERR_AUTH_NO_CREDENTIALS', 'no password: use --password-stdin, set FOS_PASSWORD, or run on a terminal');
}
