/**
 * What every client command shares: the connection flags (`--server`, `--user`,
 * `--config`, `--retries`) with their environment variables and the stored login, the
 * choice of credentials, Ctrl-C handling, and a connection pool with retries.
 *
 * Precedence: flag, then environment (`FOS_SERVER`, `FOS_USER`), then the client config.
 * Credentials: `FOS_PASSWORD` when set, else the stored device token, else a prompt on a
 * terminal, else an error (exit 3).
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import { ClientPool, DEFAULT_SERVER, formatAddress, parseServerAddress } from '../client/index.js';
import type { Credentials, FosClient, RetryOptions, ServerAddress } from '../client/index.js';
import { normalizeRemotePath } from '../fs/remote-path.js';
import { clientConfigPath, loadClientConfig } from './client-config.js';
import type { ClientConfig } from './client-config.js';
import type { CliIo } from './main.js';
import { addTlsOptions, tlsConnection } from './tls-trust.js';
import type { StoredTls, TlsFlags } from './tls-trust.js';
import { isTerminal } from './terminal.js';

// Commands that already take their helpers from here (init) find the terminal check here too.
export { isTerminal };

/** Flags added by `addConnectOptions` and `addOutputOptions`, as commander parses them. */
export interface ConnectFlags extends TlsFlags {
  readonly server?: string;
  readonly user?: string;
  readonly config?: string;
  readonly retries?: number;
  readonly quiet?: boolean;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

/** The server, the user and the config file a command works with. */
export interface Target {
  readonly address: ServerAddress;
  /** `HOST:PORT` as the user gave it (or the default). */
  readonly server: string;
  readonly user: string | undefined;
  readonly configPath: string;
  readonly config: ClientConfig;
}

/** Parses a non-negative integer flag. @throws commander's InvalidArgumentError (exit 2). */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative whole number');
  return n;
}

/**
 * Parses `--base-rev`: a revision number, or `none` for "only if the path does not exist".
 * (commander turns a parser's null into '', so `none` stays a word until `baseRevOf`.)
 */
export function parseBaseRev(value: string): number | 'none' {
  return value === 'none' ? 'none' : parseCount(value);
}

/** The `baseRev` argument for a parsed `--base-rev` flag: absent, null (`none`) or a number. */
export function baseRevOf(flag: number | 'none' | undefined): { baseRev?: number | null } {
  if (flag === undefined) return {};
  return { baseRev: flag === 'none' ? null : flag };
}

/** Adds `--server`, `--user`, `--config` and `--retries`. */
export function addConnectOptions(command: Command): Command {
  addTlsOptions(command);
  return command
    .option('--server <host:port>', `server address (env FOS_SERVER, else the stored login, else ${DEFAULT_SERVER})`)
    .option('--user <name>', 'user name (env FOS_USER, else the stored login)')
    .option('--config <file>', 'client config file (env FOS_CONFIG, default ~/.config/fos/client.json)')
    .option('--retries <n>', 'retries after network errors, with backoff; transfers resume', parseCount, 3);
}

/** Adds `--json` and `--quiet`. */
export function addOutputOptions(command: Command): Command {
  return command.option('--json', 'print results as JSON (docs/cli.md has the shapes)').option('-q, --quiet', 'no progress bars or notes');
}

/**
 * Resolves server, user and config file from flags, environment and the config file.
 * @throws FosError `FOS_ERR_CLI_USAGE` for a bad address, `FOS_ERR_CONFIG_INVALID`.
 */
export async function resolveTarget(flags: ConnectFlags, env: NodeJS.ProcessEnv): Promise<Target> {
  const configPath = clientConfigPath(flags.config, env);
  const config = await loadClientConfig(configPath);
  const server = firstSet(flags.server, env['FOS_SERVER'], config.server) ?? DEFAULT_SERVER;
  const user = firstSet(flags.user, env['FOS_USER'], config.user);
  return { address: parseServerAddress(server), server, user, configPath, config };
}

/**
 * The credentials to log in with: `FOS_PASSWORD`, the stored token (when it was issued by
 * this server for this user), or a password prompt on a terminal.
 * @throws FosError `FOS_ERR_AUTH_NO_CREDENTIALS` (exit 3) when none is available,
 * `FOS_ERR_CLI_USAGE` when a password is given without a user.
 */
export async function chooseCredentials(target: Target, io: CliIo, signal?: AbortSignal): Promise<Credentials> {
  const fromEnv = io.env['FOS_PASSWORD'];
  if (fromEnv !== undefined && fromEnv !== '') return { kind: 'password', user: requireUser(target), password: fromEnv };
  const { config } = target;
  if (config.token !== undefined && sameServer(config.server, target) && (target.user === undefined || target.user === config.user)) {
    return { kind: 'token', token: config.token };
  }
  if (isTerminal(io.stdin)) {
    const user = requireUser(target);
    return { kind: 'password', user, password: await promptPassword(io, `Password for ${user} on ${target.server}:`, signal) };
  }
  throw new FosError('FOS_ERR_AUTH_NO_CREDENTIALS', 'not logged in: run `fos login`, or set FOS_PASSWORD (and FOS_USER)');
}

/**
 * Asks for a password without echo.
 * @throws FosError `FOS_ERR_CLI_ABORTED` when the prompt is cancelled.
 */
export async function promptPassword(io: CliIo, message: string, signal?: AbortSignal): Promise<string> {
  // Loaded on demand: most commands never prompt, and every command pays for its imports.
  const { default: password } = await import('@inquirer/password');
  try {
    return await password({ message, mask: false }, { input: io.stdin, output: io.stderr, ...(signal === undefined ? {} : { signal }) });
  } catch (err) {
    throw new FosError('FOS_ERR_CLI_ABORTED', 'password prompt cancelled', { cause: err });
  }
}

/** The user, or a usage error saying how to give one. */
export function requireUser(target: Target): string {
  if (target.user === undefined) throw new FosError('FOS_ERR_CLI_USAGE', 'no user: pass --user NAME or set FOS_USER');
  return target.user;
}

/** What a command body gets: the pool, the target, the signal and the retry settings. */
export interface Session {
  readonly pool: ClientPool;
  readonly target: Target;
  readonly signal: AbortSignal;
  readonly retry: RetryOptions;
  /** Runs `fn` on a pooled client with retries. */
  run<T>(fn: (client: FosClient) => Promise<T>): Promise<T>;
}

/**
 * Connects a pool of `size` connections, runs `body`, and closes everything. Ctrl-C
 * aborts the work (transfers remove their temporary files) and the command fails.
 * @throws whatever `body` throws; a refused stored token says to log in again.
 */
export async function withSession<T>(
  flags: ConnectFlags,
  io: CliIo,
  body: (session: Session) => Promise<T>,
  size = 1,
): Promise<T> {
  const target = await resolveTarget(flags, io.env);
  return withInterrupt(async (signal) => {
    const credentials = await chooseCredentials(target, io, signal);
    const tls = await tlsConnection(flags, target.configPath, storedTls(target), io);
    const pool = new ClientPool({ address: target.address, credentials, size, ...(tls === undefined ? {} : { connect: tls.connect }) });
    const retry: RetryOptions = {
      retries: flags.retries ?? 3,
      signal,
      onRetry: ({ attempt, delayMs, error }) => {
        if (flags.quiet !== true) io.stderr.write(`fos: ${error.message}; retrying in ${(delayMs / 1000).toFixed(1)} s (${attempt}/${flags.retries ?? 3})\n`);
      },
    };
    const session: Session = { pool, target, signal, retry, run: (fn) => pool.run(fn, retry) };
    try {
      return await body(session);
    } catch (err) {
      if (credentials.kind === 'token' && err instanceof FosError && err.code === 'FOS_ERR_AUTH_FAILED') {
        throw new FosError('FOS_ERR_AUTH_FAILED', `the stored device token was refused by ${formatAddress(target.address)}: run \`fos login\` again`, { cause: err });
      }
      throw err;
    } finally {
      await pool.close();
    }
  });
}

/** Runs `fn` with a signal that Ctrl-C (SIGINT) or SIGTERM aborts. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new FosError('FOS_ERR_CLI_ABORTED', 'interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * A remote path as a person types it: a leading `/` means the root, `''` and `/` are the
 * root; otherwise the server's path rules apply.
 * @throws FosError `FOS_ERR_PATH_BAD` (exit 2).
 */
export function remoteArg(text: string): string {
  return normalizeRemotePath(text.replace(/^\/+/, ''));
}

/** Writes one JSON document to stdout. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The TLS settings `fos login` stored, when the command talks to that same server. */
export function storedTls(target: Target): StoredTls {
  return sameServer(target.config.server, target) ? { tls: target.config.tls, ca: target.config.ca } : {};
}

function sameServer(stored: string | undefined, target: Target): boolean {
  if (stored === undefined) return target.server === DEFAULT_SERVER;
  try {
    const address = parseServerAddress(stored);
    return address.host === target.address.host && address.port === target.address.port;
  } catch {
    // A stored address that does not parse matches nothing; the user is asked to log in.
    return false;
  }
}

function firstSet(...values: readonly (string | undefined)[]): string | undefined {
  return values.find((value) => value !== undefined && value !== '');
}

/**
 * The error a command ends with when some of its items failed (each was reported as it
 * happened): the single error itself, or a summary carrying the first one's code.
 */
export function batchError(failures: readonly FosError[], total: number, what: string): FosError | null {
  const first = failures[0];
  if (first === undefined) return null;
  if (total === 1) return first;
  return new FosError(first.code, `${failures.length} of ${total} ${what} failed`, { cause: first });
}

/** Writes one error line as the program does at exit, and goes on. */
export function printError(io: CliIo, err: FosError): void {
  io.stderr.write(`fos: ${err.message} (${err.code})\n`);
}

const programExamples = new WeakMap<Command, string[]>();

/**
 * Adds one example line to `fos --help` (under a shared "Examples:" heading), so the
 * top-level help shows an example for every command. One help hook prints them all: a
 * hook per command would pass the emitter's listener limit as commands are added.
 */
export function addProgramExample(program: Command, example: string): void {
  let examples = programExamples.get(program);
  if (examples === undefined) {
    const list: string[] = [];
    examples = list;
    programExamples.set(program, list);
    program.addHelpText('after', () => ['', 'Examples:', ...list.map((line) => `  $ ${line}`)].join('\n'));
  }
  examples.push(example);
}
