/**
 * Shared set-up of the command line tests: a real server from test/support/server.ts, one
 * account, a scratch folder with its own client config, and `fos` run as a subprocess with
 * an environment that points at all of that (and at nothing of the developer's).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addUser, runFos, startServer } from './support/server.js';
import type { RunResult, TestServer } from './support/server.js';

/** The account every CLI test logs in as. */
export const USER = 'alice';
export const PASSWORD = 'correct-horse-battery';

/** A server, an account and a scratch folder for one test file. */
export interface CliFixture {
  readonly server: TestServer;
  /** Scratch folder, removed by `dispose`. */
  readonly dir: string;
  /** Environment for `fos`: server, user, password, config file and HOME in `dir`. */
  readonly env: Readonly<Record<string, string>>;
  /** Runs `fos ARGS` with the fixture's environment, plus `env` on top. */
  fos(args: readonly string[], options?: { readonly input?: string; readonly env?: Readonly<Record<string, string>> }): Promise<RunResult>;
  dispose(): Promise<void>;
}

/** Starts a server with the test account. */
export async function startCliFixture(): Promise<CliFixture> {
  const server = await startServer();
  const dir = await mkdtemp(join(tmpdir(), 'fos-cli-'));
  try {
    await addUser(server.dataDir, USER, PASSWORD);
  } catch (err) {
    await server.dispose();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const env = {
    FOS_SERVER: `${server.host}:${server.port}`,
    FOS_USER: USER,
    FOS_PASSWORD: PASSWORD,
    FOS_CONFIG: join(dir, 'client.json'),
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'xdg'),
  };
  return {
    server,
    dir,
    get env() {
      return { ...env, FOS_SERVER: `${server.host}:${server.port}` };
    },
    fos(args, options = {}) {
      return runFos(args, options.input ?? '', { ...env, FOS_SERVER: `${server.host}:${server.port}`, ...options.env });
    },
    async dispose() {
      await server.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Parses a command's stdout as JSON. @throws with the output when it is not JSON. */
export function parseJson(result: RunResult): unknown {
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`not JSON (exit ${String(result.code)}): ${result.stdout}\n${result.stderr}`);
  }
}
