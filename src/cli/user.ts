/**
 * `fos user add|passwd|remove|list|import|tokens`: the server's accounts, in its data
 * folder. Passwords come from a prompt without echo on a terminal, or from one line of
 * standard input with `--password-stdin`; only bcrypt hashes are stored.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import { checkPasswordPolicy, hashPassword, parseIdPasswdFile, parseUserName } from '../store/accounts.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { applyServerConfig } from './server-config.js';
import { retireUserFiles } from './user-files.js';
import { readLine, readNewPassword } from './password-input.js';
import { isTerminal } from './terminal.js';
import type { CliIo } from './main.js';
import { bcryptCostFrom, requireDataDir } from './server-options.js';

const EXAMPLES = `
Examples:
  fos user add alice --data /var/lib/fos
  printf '%s\\n' "$PASSWORD" | fos user add alice --data /var/lib/fos --password-stdin
  fos user passwd alice --data /var/lib/fos
  fos user list --data /var/lib/fos --json
  fos user add alice --store postgres://fos@db.internal:5432/fos
  fos user import id_passwd.txt --data /var/lib/fos
  fos user tokens alice --data /var/lib/fos --revoke 3f2a9c0d1e4b5a69
  fos user remove alice --data /var/lib/fos --yes
  fos user list --config /etc/fos/server.json
`;

/** Passwords imported from the seed's file are kept even when short; bcrypt's limits still apply. */
const IMPORT_POLICY = Object.freeze({ minLength: 1 });

type Flags = Record<string, string | boolean | undefined>;

/** Adds `fos user` and its subcommands to the program. */
export function registerUserCommand(program: Command, io: CliIo): void {
  const user = program.command('user').description("manage the server's accounts").addHelpText('after', EXAMPLES);

  withData(user.command('add <name>'))
    .description('create an account')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--cost <n>', 'bcrypt cost (default 12, or FOS_BCRYPT_COST)')
    .option('--quota-bytes <n>', 'most bytes the account may store')
    .option('--quota-files <n>', 'most files the account may store')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await applyServerConfig(command);
      const flags = command.opts<Flags>();
      const userName = parseUserName(name);
      await withStore(flags, async (store, now) => {
        if ((await store.getUser(userName)) !== null) throw new FosError('FOS_ERR_STORE_USER_EXISTS', `user ${userName} already exists`);
        const password = await readNewPassword(io, userName, flags['passwordStdin'] === true);
        await store.createUser(userName, await hashPassword(password, costOf(flags, io)), now);
        const quotaBytes = count(flags['quotaBytes'], '--quota-bytes');
        const quotaFiles = count(flags['quotaFiles'], '--quota-files');
        if (quotaBytes !== undefined || quotaFiles !== undefined) {
          await store.updateUser(userName, { ...(quotaBytes === undefined ? {} : { quotaBytes }), ...(quotaFiles === undefined ? {} : { quotaFiles }) });
        }
      });
      io.stdout.write(`user ${userName} added\n`);
    });

  withData(user.command('passwd <name>'))
    .description("change an account's password")
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--cost <n>', 'bcrypt cost (default 12, or FOS_BCRYPT_COST)')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await applyServerConfig(command);
      const flags = command.opts<Flags>();
      const userName = parseUserName(name);
      await withStore(flags, async (store) => {
        await requireAccount(store, userName);
        const password = await readNewPassword(io, userName, flags['passwordStdin'] === true);
        await store.updateUser(userName, { passwordHash: await hashPassword(password, costOf(flags, io)) });
      });
      io.stdout.write(`password of ${userName} changed\n`);
    });

  withData(user.command('remove <name>'))
    .description('remove an account and its tokens; its files move to trash/ and are purged after the trash retention period')
    .option('--yes', 'do not ask for confirmation')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await applyServerConfig(command);
      const flags = command.opts<Flags>();
      const userName = parseUserName(name);
      await withStore(flags, async (store) => {
        await requireAccount(store, userName);
        if (flags['yes'] !== true) await confirm(io, userName);
        const kept = await retireUserFiles(store, requireDataDir(str(flags['data'])), userName);
        await store.removeUser(userName);
        if (kept !== null) io.stdout.write(`files of ${userName} moved to trash/${kept}\n`);
      });
      io.stdout.write(`user ${userName} removed\n`);
    });

  withData(user.command('list'))
    .description('list the accounts')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, command: Command) => {
      await applyServerConfig(command);
      const flags = command.opts<Flags>();
      await withStore(flags, async (store) => {
        const accounts = await store.listUsers();
        if (flags['json'] === true) {
          io.stdout.write(`${JSON.stringify(accounts, null, 2)}\n`);
          return;
        }
        for (const account of accounts) {
          const quota = [
            account.quotaBytes === null ? '' : ` quota ${account.quotaBytes} bytes`,
            account.quotaFiles === null ? '' : ` quota ${account.quotaFiles} files`,
          ].join('');
          io.stdout.write(`${account.name}  created ${new Date(account.createdAt).toISOString()}${quota}\n`);
        }
      });
    });

  withData(user.command('import <file>'))
    .description("import the seed's id_passwd.txt (user:password per line); bad lines are reported by number")
    .option('--cost <n>', 'bcrypt cost (default 12, or FOS_BCRYPT_COST)')
    .action(async (file: string, _opts: unknown, command: Command) => {
      await applyServerConfig(command);
      const flags = command.opts<Flags>();
      const text = await readFile(file, 'utf8').catch((err: unknown) => {
        throw new FosError('FOS_ERR_CLI_USAGE', `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
      const { accounts, errors } = parseIdPasswdFile(text);
      const lineOf = new Map<string, number>();
      text.replace(/^\ufeff/u, '').split(/\r\n|\n|\r/u).forEach((line, index) => {
        const user = line.trim().split(':')[0] ?? '';
        if (!lineOf.has(user)) lineOf.set(user, index + 1);
      });
      const problems = [...errors];
      let imported = 0;
      await withStore(flags, async (store, now) => {
        for (const account of accounts) {
          const line = lineOf.get(account.user) ?? 0;
          try {
            checkPasswordPolicy(account.password, IMPORT_POLICY);
            if ((await store.getUser(account.user)) !== null) throw new FosError('FOS_ERR_STORE_USER_EXISTS', `${account.user} already exists`);
            await store.createUser(account.user, await hashPassword(account.password, costOf(flags, io)), now);
            imported += 1;
          } catch (err) {
            if (!(err instanceof FosError)) throw err;
            problems.push({ line, reason: err.message });
          }
        }
      });
      problems.sort((a, b) => a.line - b.line);
      for (const problem of problems) io.stderr.write(`${file}:${problem.line}: skipped: ${problem.reason}\n`);
      io.stdout.write(`imported ${imported} of ${imported + problems.length} accounts\n`);
      if (problems.length > 0) process.exitCode = 1;
    });

  withData(user.command('tokens <name>'))
    .description("list an account's device tokens, or revoke one")
    .option('--revoke <id>', 'revoke the token with this id')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await applyServerConfig(command);
      const flags = command.opts<Flags>();
      const userName = parseUserName(name);
      await withStore(flags, async (store) => {
        await requireAccount(store, userName);
        const revoke = str(flags['revoke']);
        if (revoke !== undefined) {
          if (!(await store.revokeToken(userName, revoke))) throw new FosError('FOS_ERR_PATH_NOT_FOUND', `${userName} has no token ${revoke}`);
          io.stdout.write(`token ${revoke} of ${userName} revoked\n`);
          return;
        }
        const tokens = await store.listTokens(userName);
        if (flags['json'] === true) {
          io.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
          return;
        }
        for (const token of tokens) {
          const used = token.lastUsedAt === null ? 'never used' : `last used ${new Date(token.lastUsedAt).toISOString()}`;
          io.stdout.write(`${token.id}  ${token.device}  created ${new Date(token.createdAt).toISOString()}  ${used}\n`);
        }
      });
    });
}

function withData(command: Command): Command {
  return command
    .option('--config <file>', 'a config file; its "server" section names the data folder and the store')
    .option('--data <dir>', "the server's data folder")
    .option('--store <url>', 'the metadata store, when not fos.db in --data: sqlite:PATH or postgres://USER@HOST:PORT/DB');
}

async function withStore(flags: Flags, body: (store: Store, now: number) => Promise<void>): Promise<void> {
  const store = await openStore({ store: str(flags['store']), dataDir: str(flags['data']) });
  try {
    await body(store, Date.now());
  } finally {
    await store.close();
  }
}

async function requireAccount(store: Store, name: string): Promise<void> {
  if ((await store.getUser(name)) === null) throw new FosError('FOS_ERR_STORE_NO_USER', `no user ${name}`);
}

async function confirm(io: CliIo, user: string): Promise<void> {
  if (!isTerminal(io.stdin)) throw new FosError('FOS_ERR_CLI_USAGE', `removing ${user} needs confirmation: pass --yes`);
  io.stderr.write(`Remove ${user}? Their files move to the trash. Type the user name to confirm: `);
  const answer = await readLine(io.stdin);
  if (answer.trim() !== user) throw new FosError('FOS_ERR_CLI_ABORTED', 'not confirmed; nothing was removed');
}

function costOf(flags: Flags, io: CliIo): number {
  return bcryptCostFrom(str(flags['cost']), io.env);
}

function count(value: string | boolean | undefined, flag: string): number | undefined {
  const text = str(value);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new FosError('FOS_ERR_CLI_USAGE', `${flag} must be a whole number, not ${JSON.stringify(text)}`);
  return n;
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
