/**
 * Runs the built `fos` program (`node bin/fos.js`) as a child process, the way a user
 * does, in an environment of its own (HOME inside the bench folder, credentials in
 * FOS_SERVER, FOS_USER and FOS_PASSWORD), and finds out which commands exist yet.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, runChecked, type CommandResult } from './measure.js';
import type { Teardown } from './teardown.js';

/** The built entry point: dist/bench/ sits two levels below the package root. */
export const FOS_BIN = fileURLToPath(new URL('../../bin/fos.js', import.meta.url));

/** The compiled program behind {@link FOS_BIN}. */
const FOS_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** bcrypt cost for bench accounts: the lowest bcrypt allows, so logins stay fast. */
export const BENCH_BCRYPT_COST = 4;

const PROBE_TIMEOUT_MS = 30_000;

/** Who the fos client is and where it connects. */
export interface FosAccount {
  readonly server: string;
  readonly user: string;
  readonly password: string;
}

/**
 * The environment of every fos process the bench starts: its own HOME (so no real
 * config or known-hosts file is read or written), a fast bcrypt cost, and the account.
 */
export function fosEnv(home: string, account?: FosAccount): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    XDG_RUNTIME_DIR: join(home, '.run'),
    FOS_BCRYPT_COST: String(BENCH_BCRYPT_COST),
  };
  delete env['FOS_SERVER'];
  delete env['FOS_USER'];
  delete env['FOS_PASSWORD'];
  delete env['FOS_CONFIG'];
  if (account !== undefined) {
    env['FOS_SERVER'] = account.server;
    env['FOS_USER'] = account.user;
    env['FOS_PASSWORD'] = account.password;
  }
  return env;
}

/** How to start fos processes: their environment and extra node flags (`--cpu-prof`). */
export interface FosLauncher {
  readonly env: NodeJS.ProcessEnv;
  readonly nodeFlags: readonly string[];
  readonly teardown: Teardown;
}

/** Arguments for `node` to run fos: node's flags, the entry point, then `args`. */
export function fosArgs(args: readonly string[], nodeFlags: readonly string[] = []): string[] {
  return [...nodeFlags, FOS_BIN, ...args];
}

/**
 * Runs `fos ARGS` and insists on exit code 0.
 * @throws CommandError with fos's output when it fails.
 */
export function runFos(launcher: FosLauncher, args: readonly string[], timeoutMs: number, input?: string): Promise<CommandResult> {
  return runChecked(
    {
      command: process.execPath,
      args: fosArgs(args, launcher.nodeFlags),
      env: launcher.env,
      timeoutMs,
      ...(input === undefined ? {} : { input }),
    },
    launcher.teardown,
  );
}

/** Which fos commands exist in the build, asked once per command through `--help`. */
export class FosCommands {
  readonly #known = new Map<string, Promise<boolean>>();
  readonly #env: NodeJS.ProcessEnv;
  readonly #teardown: Teardown;

  constructor(env: NodeJS.ProcessEnv, teardown: Teardown) {
    this.#env = env;
    this.#teardown = teardown;
  }

  /**
   * The commands of `wanted` (e.g. `['server', 'user add', 'upload']`) that the build
   * lacks, as a phrase for the report (`fos sync, fos agent`), or undefined when all exist.
   */
  async missing(wanted: readonly string[]): Promise<string | undefined> {
    const found = await Promise.all(wanted.map((command) => this.has(command)));
    const absent = wanted.filter((_, i) => found[i] !== true).map((command) => `fos ${command}`);
    return absent.length === 0 ? undefined : absent.join(', ');
  }

  /** True when `fos COMMAND --help` prints that command's usage. */
  has(command: string): Promise<boolean> {
    let known = this.#known.get(command);
    if (known === undefined) {
      known = this.#probe(command);
      this.#known.set(command, known);
    }
    return known;
  }

  async #probe(command: string): Promise<boolean> {
    try {
      await access(FOS_MAIN);
    } catch {
      return false;
    }
    const words = command.split(' ');
    try {
      const result = await runCommand(
        { command: process.execPath, args: fosArgs([...words, '--help']), env: this.#env, timeoutMs: PROBE_TIMEOUT_MS },
        this.#teardown,
      );
      const usage = new RegExp(`^Usage: fos ${words.map(escapeRegExp).join(' ')}(\\s|$)`, 'm');
      return result.code === 0 && usage.test(result.stdout);
    } catch {
      return false;
    }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
