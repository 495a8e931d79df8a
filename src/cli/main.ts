/**
 * The `fos` program: builds the commander tree from one file per command and runs it.
 * Only this folder may call process.exit; commands return exit codes or throw FosError.
 */
import { Command, CommanderError } from 'commander';
import { EXIT, FosError, asFosError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerCommands } from './commands.js';

/** Output seams so that tests can run the program in process. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Builds the program; tests call this with their own io. With `args` (argv without node
 * and the script) only the commands they need are loaded; without, every command.
 */
export async function buildProgram(io: CliIo, args?: readonly string[]): Promise<Command> {
  const program = new Command('fos')
    .description('Self-hosted file server and sync agent')
    .version(VERSION, '-V, --version')
    .option('--verbose', 'show stack traces and debug logs')
    .showHelpAfterError('(run with --help for usage and examples)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  await registerCommands(program, io, args);
  return program;
}

/** Runs the program on argv and resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    const program = await buildProgram(io, argv.slice(2));
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    return reportError(err, io, argv.includes('--verbose'));
  }
}

/** One line with the code and what to do; a stack only with --verbose. */
export function reportError(err: unknown, io: CliIo, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (help, version or a usage error).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      return EXIT.ok;
    }
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const fos = err instanceof FosError ? err : asFosError(err);
  io.stderr.write(`fos: ${fos.message} (${fos.code})\n`);
  if (verbose && err instanceof Error && err.stack !== undefined) io.stderr.write(`${err.stack}\n`);
  return fos.exitCode;
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}
