/**
 * What every case shares: options, sizes, the bench folder, the teardown registry, and
 * lazily started servers (one rsync daemon and one fos server for the whole run, each
 * behind a wire counter) and generated data that several workloads reuse.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { addFosUser, startFosServer, type FosServer } from './fos-server.js';
import { FosCommands, fosEnv, type FosAccount, type FosLauncher } from './fos-cli.js';
import type { BenchOptions } from './options.js';
import { startRsyncDaemon, type RsyncDaemon } from './rsync.js';
import type { Teardown } from './teardown.js';
import { startWireCounter, type WireCounter } from './wire-counter.js';
import { writeRandomFile, type WorkloadSizes } from './workloads.js';

/** The fos account the bench syncs as. */
export const BENCH_USER = 'bench';

/** A fos server with its account and wire counter. */
export interface FosEndpoint {
  readonly server: FosServer;
  /** The account, connecting straight to the server. */
  readonly direct: FosAccount;
  /** The account, connecting through {@link counter}. */
  readonly counted: FosAccount;
  readonly counter: WireCounter;
}

/** An rsync daemon with its wire counter. */
export interface RsyncEndpoint {
  readonly daemon: RsyncDaemon;
  readonly counter: WireCounter;
}

/** Timeouts that scale with the workload sizes. */
export interface Deadlines {
  /** One transfer or sync pass. */
  readonly commandMs: number;
  /** A setup step (initial sync of a large tree). */
  readonly setupMs: number;
}

/** The shared state of one bench run. */
export class BenchContext {
  readonly options: BenchOptions;
  readonly sizes: WorkloadSizes;
  /** The bench's temporary folder, removed at exit. */
  readonly root: string;
  readonly teardown: Teardown;
  readonly commands: FosCommands;
  readonly deadlines: Deadlines;
  readonly #cache = new Map<string, Promise<unknown>>();

  constructor(options: BenchOptions, sizes: WorkloadSizes, root: string, teardown: Teardown) {
    this.options = options;
    this.sizes = sizes;
    this.root = root;
    this.teardown = teardown;
    this.commands = new FosCommands(this.env(), teardown);
    this.deadlines = Object.freeze(
      options.isQuick ? { commandMs: 120_000, setupMs: 300_000 } : { commandMs: 900_000, setupMs: 1_800_000 },
    );
  }

  /** A fresh folder under the bench folder. */
  async folder(...parts: string[]): Promise<string> {
    const dir = join(this.root, ...parts);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** The environment of fos processes, with `account` when given. */
  env(account?: FosAccount): NodeJS.ProcessEnv {
    return fosEnv(join(this.root, 'home'), account);
  }

  /** How to start fos processes as `account`, profiled when `--cpu-prof` asks for it. */
  launcher(account?: FosAccount): FosLauncher {
    const dir = this.options.cpuProfileDir;
    return {
      env: this.env(account),
      nodeFlags: dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`],
      teardown: this.teardown,
    };
  }

  /** Prints a progress line to stderr (the table goes to stdout). */
  log(message: string): void {
    process.stderr.write(`bench: ${message}\n`);
  }

  /** The W1 file of random bytes, made once. */
  bigFile(): Promise<string> {
    return this.#once('big-file', async () => {
      const file = join(await this.folder('data'), 'big.bin');
      this.log(`generating ${this.sizes.bigFileBytes} random bytes`);
      await writeRandomFile(file, this.sizes.bigFileBytes);
      return file;
    });
  }

  /** The rsync daemon, started once. */
  rsync(): Promise<RsyncEndpoint> {
    return this.#once('rsync', async () => {
      const daemon = await startRsyncDaemon(await this.folder('rsyncd'), this.teardown);
      this.teardown.onClose(() => daemon.close());
      const counter = await startWireCounter(daemon.port);
      this.teardown.onClose(() => counter.close());
      return { daemon, counter };
    });
  }

  /** The fos server with the bench account, started once. */
  fos(): Promise<FosEndpoint> {
    return this.#once('fos', async () => {
      const dataDir = await this.folder('fos-server');
      await addFosUser(this.launcher(), dataDir, BENCH_USER, BENCH_PASSWORD);
      const server = await startFosServer(this.launcher(), dataDir);
      this.teardown.onClose(() => server.close());
      const counter = await startWireCounter(server.port);
      this.teardown.onClose(() => counter.close());
      return {
        server,
        counter,
        direct: { server: `127.0.0.1:${server.port}`, user: BENCH_USER, password: BENCH_PASSWORD },
        counted: { server: `127.0.0.1:${counter.port}`, user: BENCH_USER, password: BENCH_PASSWORD },
      };
    });
  }

  /** Runs `make` once per `key` and shares its promise (setups several workloads use). */
  shared<T>(key: string, make: () => Promise<T>): Promise<T> {
    return this.#once(`shared:${key}`, make);
  }

  #once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let value = this.#cache.get(key) as Promise<T> | undefined;
    if (value === undefined) {
      value = make();
      this.#cache.set(key, value);
    }
    return value;
  }
}

/** The bench account's password: local to a throw-away server on loopback. */
const BENCH_PASSWORD = 'bench-password-on-loopback';
