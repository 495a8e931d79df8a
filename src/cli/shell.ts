/**
 * `fos shell`: an interactive session like the seed's client. The seed's words (UPLOAD,
 * DOWNLOAD, PREVIEW, DELETE, LIST, any case) plus `help`, `cd`, `pwd`, `ls`, `get`, `put`,
 * `mv`, `rm`, `quit`. On a terminal it has line editing and history; otherwise it reads
 * commands from stdin, one per line, so it can be scripted. A failed command prints its
 * error and the session goes on.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { FosError, asFosError } from '../errors.js';
import { DEFAULT_PREVIEW_BYTES } from '../protocol/constants.js';
import type { Entry } from '../protocol/types.js';
import { addConnectOptions, addProgramExample, batchError, parseCount, printError, withSession } from './connect-options.js';
import { isTerminal } from './terminal.js';
import type { ConnectFlags, Session } from './connect-options.js';
import { planDownload, runDownload } from './download-tree.js';
import { formatBytes, formatLong, formatShort } from './format.js';
import type { CliIo } from './main.js';
import { resolveRemote, splitWords } from './shell-words.js';
import { planUpload, runUpload } from './upload-tree.js';

const EXAMPLES = `
Examples:
  $ fos shell
  fos:/> put report.pdf
  fos:/> ls -l
  $ printf 'cd docs\\nLIST\\nget a.txt\\n' | fos shell    scripted, one command per line`;

const HELP = `commands (the seed's words in any case, or their short forms):
  LIST | ls [-l] [DIR]          list a folder
  UPLOAD | put [-r] LOCAL [DIR] upload a file (a folder with -r) into DIR or here
  DOWNLOAD | get [-r] REMOTE [LOCALDIR]
                                download into LOCALDIR (default .), mtime kept
  PREVIEW REMOTE [BYTES]        print the first bytes (default ${DEFAULT_PREVIEW_BYTES})
  DELETE | rm [-r] REMOTE       delete (folders with -r)
  MOVE | mv FROM TO             rename or move
  cd [DIR] | pwd                change or show the remote folder
  help | quit
`;

/** Registers `fos shell`. */
export function registerShellCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos shell');
  const command = program.command('shell').description('interactive session (reads commands from stdin when not on a terminal)');
  addConnectOptions(command);
  command.option('-q, --quiet', 'no progress bars or notes');
  command.addHelpText('after', EXAMPLES).action(async (flags: ConnectFlags) => {
    const { failures, ran } = await withSession(flags, io, (session) => runShell(session, io, flags.quiet === true));
    const error = batchError(failures, Math.max(ran, 2), 'shell commands');
    if (error !== null) throw error;
  });
}

/** Runs the read-eval loop until `quit` or the end of input; returns the failures. */
async function runShell(session: Session, io: CliIo, quiet: boolean): Promise<{ failures: FosError[]; ran: number }> {
  const interactive = isTerminal(io.stdin) && isTerminal(io.stdout);
  const lines = createInterface({
    input: io.stdin,
    ...(interactive ? { output: io.stdout, terminal: true, historySize: 1000 } : { terminal: false }),
  });
  const state: ShellState = { cwd: '', quiet, interactive, current: null };
  const prompt = (): void => {
    if (!interactive) return;
    lines.setPrompt(`fos:/${state.cwd}> `);
    lines.prompt();
  };
  lines.on('SIGINT', () => {
    // Ctrl-C stops the command in hand; at the prompt it only says how to leave.
    if (state.current !== null) state.current.abort(new FosError('FOS_ERR_CLI_ABORTED', 'interrupted'));
    else io.stdout.write('\n(type quit to leave)\n');
  });
  const failures: FosError[] = [];
  let ran = 0;
  if (interactive) io.stdout.write(`connected to ${session.target.server}; type help for commands\n`);
  prompt();
  try {
    for await (const line of lines) {
      if (session.signal.aborted) break;
      let words: string[];
      try {
        words = splitWords(line);
      } catch (err) {
        failures.push(report(io, err));
        prompt();
        continue;
      }
      const [word, ...args] = words;
      if (word === undefined) {
        prompt();
        continue;
      }
      const verb = word.toLowerCase();
      if (verb === 'quit' || verb === 'exit' || verb === 'bye') break;
      ran += 1;
      const controller = new AbortController();
      state.current = controller;
      try {
        await runWord(withSignal(session, AbortSignal.any([session.signal, controller.signal])), io, state, verb, args);
      } catch (err) {
        if (session.signal.aborted) throw err;
        failures.push(report(io, err));
      } finally {
        state.current = null;
      }
      prompt();
    }
  } finally {
    lines.close();
  }
  return { failures, ran };
}

interface ShellState {
  cwd: string;
  readonly quiet: boolean;
  readonly interactive: boolean;
  current: AbortController | null;
}

async function runWord(session: Session, io: CliIo, state: ShellState, verb: string, args: readonly string[]): Promise<void> {
  const { flags, rest } = splitFlags(args);
  const at = (index: number): string | undefined => rest[index];
  const need = (index: number, what: string): string => {
    const value = at(index);
    if (value === undefined) throw new FosError('FOS_ERR_CLI_USAGE', `${verb}: missing ${what} (type help)`);
    return value;
  };
  const remote = (text: string): string => resolveRemote(state.cwd, text);
  switch (verb) {
    case 'help':
    case '?':
      io.stdout.write(HELP);
      return;
    case 'pwd':
      io.stdout.write(`/${state.cwd}\n`);
      return;
    case 'cd': {
      const target = remote(at(0) ?? '/');
      if (target !== '') {
        const entry = await session.run((client) => client.stat(target, { signal: session.signal }));
        if (entry.kind !== 'dir') throw new FosError('FOS_ERR_PATH_NOT_FILE', `${target} is not a folder`);
      }
      state.cwd = target;
      return;
    }
    case 'list':
    case 'ls': {
      const folder = remote(at(0) ?? '.');
      const listing = await session.run((client) => client.list(folder, { signal: session.signal }));
      const entries = listing.entries.filter((entry) => !entry.deleted).sort((a, b) => (a.path < b.path ? -1 : 1));
      const name = (entry: Entry): string => (folder === '' ? entry.path : entry.path.slice(folder.length + 1));
      const shown = flags.has('l') ? formatLong(entries, name) : formatShort(entries, name);
      io.stdout.write(shown.length === 0 ? '(empty)\n' : `${shown.join('\n')}\n`);
      return;
    }
    case 'upload':
    case 'put': {
      const plan = await planUpload([need(0, 'local file')], remote(at(1) ?? '.'), flags.has('r'), (message) => io.stderr.write(`fos: ${message}\n`));
      const outcome = await runUpload(session, io, plan, { jobs: 2, quiet: state.quiet, compress: false, onError: (err) => printMany(io, plan.files.length, err) });
      for (const { entry } of outcome.results) if (entry.kind === 'file') io.stdout.write(`uploaded ${entry.path} (${formatBytes(entry.size)})\n`);
      throwFirst(outcome.failures);
      return;
    }
    case 'download':
    case 'get': {
      const plan = await planDownload(session, [remote(need(0, 'remote file'))], at(1) ?? '.', flags.has('r'));
      const outcome = await runDownload(session, io, plan, { jobs: 2, quiet: state.quiet, compress: false, onError: (err) => printMany(io, plan.files.length, err) });
      for (const { local, entry } of outcome.results) if (entry.kind === 'file') io.stdout.write(`downloaded ${local} (${formatBytes(entry.size)})\n`);
      throwFirst(outcome.failures);
      return;
    }
    case 'preview': {
      const path = remote(need(0, 'remote file'));
      const bytes = at(1) === undefined ? DEFAULT_PREVIEW_BYTES : parseCountOrUsage(at(1) as string);
      const preview = await session.run((client) => client.preview(path, { bytes, signal: session.signal }));
      io.stdout.write(preview.data);
      if (state.interactive && preview.data.length > 0 && preview.data[preview.data.length - 1] !== 0x0a) io.stdout.write('\n');
      return;
    }
    case 'delete':
    case 'rm': {
      const path = remote(need(0, 'remote path'));
      if (path === '') throw new FosError('FOS_ERR_CLI_USAGE', 'the root folder cannot be deleted');
      const removed = await session.run((client) => client.delete(path, { recursive: flags.has('r'), signal: session.signal }));
      io.stdout.write(`deleted ${path}${removed.length > 1 ? ` (${removed.length} entries)` : ''}\n`);
      return;
    }
    case 'move':
    case 'mv': {
      const from = remote(need(0, 'source'));
      const to = remote(need(1, 'target'));
      await session.run((client) => client.move(from, to, { signal: session.signal }));
      io.stdout.write(`moved ${from} -> ${to}\n`);
      return;
    }
    default:
      throw new FosError('FOS_ERR_CLI_USAGE', `unknown command ${JSON.stringify(verb)} (type help)`);
  }
}

/** Single-letter flags (`-r`, `-l`, `-rl`) apart from the other words. */
function splitFlags(args: readonly string[]): { flags: Set<string>; rest: string[] } {
  const flags = new Set<string>();
  const rest: string[] = [];
  for (const arg of args) {
    if (/^-[a-zA-Z]+$/.test(arg)) for (const letter of arg.slice(1)) flags.add(letter);
    else rest.push(arg);
  }
  return { flags, rest };
}

function parseCountOrUsage(text: string): number {
  try {
    return parseCount(text);
  } catch {
    // commander's error type is for flags; the shell reports its own usage error.
    throw new FosError('FOS_ERR_CLI_USAGE', `not a byte count: ${JSON.stringify(text)}`);
  }
}

/** The session with a signal of its own, so Ctrl-C stops one command, not the shell. */
function withSignal(session: Session, signal: AbortSignal): Session {
  const retry = { ...session.retry, signal };
  return { ...session, signal, retry, run: (fn) => session.pool.run(fn, retry) };
}

/** Prints a transfer's failure when it is one of many; a lone one is the command's error. */
function printMany(io: CliIo, count: number, err: FosError): void {
  if (count > 1) printError(io, err);
}

function throwFirst(failures: readonly FosError[]): void {
  const error = batchError(failures, failures.length, 'transfers');
  if (error !== null) throw error;
}

function report(io: CliIo, err: unknown): FosError {
  const error = asFosError(err);
  printError(io, error);
  return error;
}
