/**
 * Test helpers around the built binary for the agent: `fos init` of a device, a
 * `fos agent` child process with its JSON log, and a deadline-bounded wait.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FOS_BIN, TEST_BCRYPT_COST, runFos } from './server.js';
import type { TestServer } from './server.js';

/** A device configured with `fos init`. */
export interface AgentDevice {
  readonly name: string;
  readonly config: string;
  readonly folder: string;
  readonly state: string;
}

/**
 * Runs `fos init` for a device under `home` (FOS_PASSWORD for the login).
 * @throws Error with the command's output when it fails.
 */
export async function initDevice(server: TestServer, home: string, name: string, user: string, password: string, remote = ''): Promise<AgentDevice> {
  const dir = join(home, name);
  const config = join(dir, 'agent.json');
  const folder = join(dir, 'folder');
  const state = join(dir, 'state');
  const args = ['init', '--config', config, '--server', `${server.host}:${server.port}`, '--user', user, '--folder', folder];
  const result = await runFos([...args, '--remote', remote, '--state', state, '--device', name], '', { FOS_PASSWORD: password });
  if (result.code !== 0) throw new Error(`fos init failed (${String(result.code)}): ${result.stderr}`);
  return { name, config, folder, state };
}

/**
 * Changes a device's agent config: `agent` fields over the `agent` section, `folder`
 * fields over each folder pair.
 */
export async function patchAgentConfig(device: AgentDevice, agent: Readonly<Record<string, unknown>>, folder: Readonly<Record<string, unknown>> = {}): Promise<void> {
  const config = JSON.parse(await readFile(device.config, 'utf8')) as { agent: Record<string, unknown> & { folders: Record<string, unknown>[] } };
  config.agent = { ...config.agent, ...agent, folders: config.agent.folders.map((f) => ({ ...f, ...folder })) };
  await writeFile(device.config, JSON.stringify(config, null, 2));
}

/** A running `fos agent`. */
export interface AgentProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log records so far. */
  records(): Record<string, unknown>[];
  logs(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** How to start the agent process. */
export interface SpawnAgentOptions {
  /**
   * A command the agent runs under, as argv, ending where the node command line starts:
   * `['unshare', '--user', ...]`, `['setpriv', '--bounding-set=...']`.
   */
  readonly prefix?: readonly string[];
}

/** Starts `fos agent --config FILE`, under `options.prefix` when given. */
export function spawnAgent(device: AgentDevice, extraArgs: readonly string[] = [], options: SpawnAgentOptions = {}): AgentProcess {
  const [command = process.execPath, ...args] = [...(options.prefix ?? []), process.execPath, FOS_BIN, 'agent', '--config', device.config, ...extraArgs];
  const child = spawn(command, args, {
    env: { ...process.env, FOS_BCRYPT_COST: String(TEST_BCRYPT_COST) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    output += text;
  });
  child.stderr?.on('data', (text: string) => {
    output += text;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    logs: () => output,
    records: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    async stop() {
      if (isRunning()) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (isRunning()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`.
 * @throws Error naming `what` at the deadline.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError === null ? '' : `: ${String(lastError)}`}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
