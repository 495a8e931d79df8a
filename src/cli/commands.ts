/**
 * The list of commands: each command lives in its own file and registers itself here.
 * Keep one line per command file. A file is imported only when its command runs (or when
 * help lists every command): `fos sync` does not load the server, the stores or their
 * drivers, which kept a no-op pass waiting on start-up (issue 8).
 */
import type { Command } from 'commander';
import type { CliIo } from './main.js';

type Register = (program: Command, io: CliIo) => void;

/** Each command's name and how to load its registration, in help order. */
const COMMANDS: readonly (readonly [string, () => Promise<Register>])[] = [
  ['service', async () => (await import('./service.js')).registerServiceCommand],
  ['server', async () => (await import('./server.js')).registerServerCommand],
  ['user', async () => (await import('./user.js')).registerUserCommand],
  ['login', async () => (await import('./login.js')).registerLoginCommand],
  ['logout', async () => (await import('./logout.js')).registerLogoutCommand],
  ['list', async () => (await import('./list.js')).registerListCommand],
  ['upload', async () => (await import('./upload.js')).registerUploadCommand],
  ['download', async () => (await import('./download.js')).registerDownloadCommand],
  ['preview', async () => (await import('./preview.js')).registerPreviewCommand],
  ['delete', async () => (await import('./delete.js')).registerDeleteCommand],
  ['move', async () => (await import('./move.js')).registerMoveCommand],
  ['restore', async () => (await import('./restore.js')).registerRestoreCommand],
  ['shell', async () => (await import('./shell.js')).registerShellCommand],
  ['init', async () => (await import('./init.js')).registerInitCommand],
  ['sync', async () => (await import('./sync.js')).registerSyncCommand],
  ['agent', async () => (await import('./agent.js')).registerAgentCommand],
  ['status', async () => (await import('./status.js')).registerStatusCommand],
  ['deletions', async () => (await import('./deletions.js')).registerDeletionsCommand],
  ['migrate', async () => (await import('./migrate.js')).registerMigrateCommand],
];

/** Options of the program itself that come before a command name (none takes a value). */
const PROGRAM_FLAGS: ReadonlySet<string> = new Set(['--verbose']);

/**
 * Adds the fos commands the command line `args` (argv without node and the script) needs
 * to the program: only the named command when it names one, none for `--version`, every
 * command otherwise (help, a typo that commander answers with suggestions).
 */
export async function registerCommands(program: Command, io: CliIo, args?: readonly string[]): Promise<void> {
  const wanted = args === undefined ? undefined : commandOf(args);
  if (wanted === null) return;
  const chosen = wanted === undefined ? COMMANDS : COMMANDS.filter(([name]) => name === wanted);
  const registers = await Promise.all(chosen.map(([, load]) => load()));
  for (const register of registers) register(program, io);
}

/** The command `args` names; null when they only ask for the version; undefined when every command is needed. */
function commandOf(args: readonly string[]): string | null | undefined {
  for (const arg of args) {
    if (arg === '-V' || arg === '--version') return null;
    if (PROGRAM_FLAGS.has(arg)) continue;
    if (arg.startsWith('-')) return undefined;
    return COMMANDS.some(([name]) => name === arg) ? arg : undefined;
  }
  return undefined;
}
