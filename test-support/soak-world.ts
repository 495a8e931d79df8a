/**
 * A small world for reliability tests and the soak (issue 9): one `fos server` on a data
 * folder, one user, and devices that each run `fos agent` through a fault proxy of their
 * own on loopback. It writes files atomically (so every file a reader sees is a complete
 * content the ledger knows), reads the trees of the devices and of the server by hash,
 * waits for convergence and checks the invariants.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FosClient } from '../src/client/index.js';
import { queryStatus } from '../src/agent/status-socket.js';
import { socketPath } from '../src/agent/status-file.js';
import type { AgentStatus } from '../src/agent/status-types.js';
import { FaultProxy } from './fault-proxy.js';
import { ContentLedger, filesOf, hashesUnder, readTree, sameTree, treeDiff } from './soak-ledger.js';
import type { Tree, Violation } from './soak-ledger.js';
import { FosAgent, FosServer, addUser, runFos, waitUntil } from './soak-procs.js';

const USER = 'soak';
const PASSWORD = 'soak password 9';

/** One synced device: its folders, its proxy and its agent. */
export interface Device {
  readonly name: string;
  readonly home: string;
  readonly folder: string;
  readonly state: string;
  readonly config: string;
  readonly proxy: FaultProxy;
  readonly agent: FosAgent;
}

/** Options of {@link World.create}. */
export interface WorldOptions {
  /** A folder the world owns (removed by `close` when `removeRoot`). */
  readonly root: string;
  readonly devices?: readonly string[];
  /** The server's data folder; `<root>/server` by default. */
  readonly dataDir?: string;
  readonly serverArgs?: readonly string[];
  readonly serverEnv?: Readonly<Record<string, string>>;
  /** Settings written into each agent's config after `fos init`. */
  readonly agentSettings?: Readonly<Record<string, unknown>>;
  /** A device's folder; `<home>/folder` by default. */
  readonly folderOf?: (name: string, home: string) => string;
  /** Start the agents at once (default true). */
  readonly startAgents?: boolean;
}

/** The state of everything at one moment. */
export interface Snapshot {
  readonly devices: readonly Tree[];
  readonly server: Tree;
  /** The server's LIST, as `path → sha256` (folders `path/ → 'dir'`), or null when unreachable. */
  readonly listing: Tree | null;
}

/** The server, the devices and the ledger. `close()` stops every process. */
export class World {
  readonly root: string;
  readonly server: FosServer;
  readonly devices: readonly Device[];
  readonly ledger = new ContentLedger();
  readonly user = USER;
  #closed = false;

  private constructor(root: string, server: FosServer, devices: Device[]) {
    this.root = root;
    this.server = server;
    this.devices = devices;
  }

  /**
   * Starts the server, creates the user, runs `fos init` for each device (through its
   * proxy) and starts the agents.
   * @throws Error when a process does not start; whatever started is stopped first.
   */
  static async create(options: WorldOptions): Promise<World> {
    const dataDir = options.dataDir ?? join(options.root, 'server');
    await mkdir(dataDir, { recursive: true });
    await addUser(dataDir, USER, PASSWORD);
    const server = await FosServer.start({
      dataDir,
      ...(options.serverArgs === undefined ? {} : { args: options.serverArgs }),
      ...(options.serverEnv === undefined ? {} : { env: options.serverEnv }),
    });
    const devices: Device[] = [];
    const world = new World(options.root, server, devices);
    try {
      for (const name of options.devices ?? ['alpha', 'beta']) {
        devices.push(await world.#initDevice(name, options));
      }
      if (options.startAgents !== false) for (const device of devices) device.agent.start();
    } catch (err) {
      await world.close();
      throw err;
    }
    return world;
  }

  async #initDevice(name: string, options: WorldOptions): Promise<Device> {
    const home = join(this.root, name);
    const folder = options.folderOf?.(name, home) ?? join(home, 'folder');
    const state = join(home, 'state');
    const config = join(home, 'agent.json');
    await mkdir(join(home, 'scratch'), { recursive: true });
    await mkdir(folder, { recursive: true });
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: this.server.port } });
    const args = ['init', '--config', config, '--server', `127.0.0.1:${proxy.port}`, '--user', USER, '--folder', folder, '--remote', '', '--state', state, '--device', name];
    const result = await runFos(args, '', { FOS_PASSWORD: PASSWORD });
    if (result.code !== 0) {
      await proxy.close();
      throw new Error(`fos init ${name} failed (${String(result.code)}): ${result.stderr}`);
    }
    // Random edits in a small tree often delete more than half of what a folder holds, and
    // edit conflict copies on both sides, which makes copies of copies of one file; the
    // mass-delete guard and the cap on conflict copies would rightly hold them for a person,
    // and the world would never converge. Both have tests of their own: here they stay
    // out of the way (the guard's file and byte limits still apply).
    await tuneAgent(config, { settleMs: 100, debounceMs: 50, minGuardDeletions: 1000, maxConflictCopies: 1000, ...options.agentSettings });
    return { name, home, folder, state, config, proxy, agent: new FosAgent(config) };
  }

  /** The device by name. @throws Error for an unknown name. */
  device(name: string): Device {
    const found = this.devices.find((d) => d.name === name);
    if (found === undefined) throw new Error(`no device ${name}`);
    return found;
  }

  /** `uploads/<user>` on the server. */
  get serverFiles(): string {
    return join(this.server.dataDir, 'uploads', USER);
  }

  /**
   * Writes `data` to `path` in the device's folder atomically (a scratch file outside the
   * folder, renamed in), and registers the content in the ledger.
   */
  async write(device: Device, path: string, data: Uint8Array): Promise<string> {
    const hash = this.ledger.add(data);
    const target = join(device.folder, path);
    await mkdir(dirname(target), { recursive: true });
    const scratch = join(device.home, 'scratch', randomBytes(6).toString('hex'));
    await writeFile(scratch, data);
    try {
      await rename(scratch, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // The folder is a mount of its own (a rename cannot cross it): go through a
      // temporary name beside the target, one the agent ignores.
      const beside = join(dirname(target), `.fos-tmp-world-${randomBytes(6).toString('hex')}`);
      await writeFile(beside, data);
      await rm(scratch);
      await rename(beside, target);
    }
    return hash;
  }

  /** Removes a file from a device's folder. */
  async remove(device: Device, path: string): Promise<void> {
    await rm(join(device.folder, path), { force: true });
  }

  /** Restarts the server (kill -9 first) and points every proxy at it. */
  async restartServer(): Promise<void> {
    await this.server.restart();
    for (const device of this.devices) device.proxy.setTarget({ host: '127.0.0.1', port: this.server.port });
  }

  /**
   * A client logged in to the server directly (not through a proxy); close it when done.
   * @throws FosError when the server cannot be reached.
   */
  connect(): Promise<FosClient> {
    return FosClient.connect({ address: { host: '127.0.0.1', port: this.server.port }, credentials: { kind: 'password', user: USER, password: PASSWORD }, timeoutMs: 10_000 });
  }

  /** The server's LIST of everything, or null when it cannot be reached. */
  async listing(): Promise<Tree | null> {
    let client: FosClient;
    try {
      client = await this.connect();
    } catch {
      return null;
    }
    try {
      const listing = await client.list('', { recursive: true });
      const out = new Map<string, string>();
      for (const entry of listing.entries) {
        if (entry.deleted) continue;
        out.set(entry.kind === 'dir' ? `${entry.path}/` : entry.path, entry.kind === 'dir' ? 'dir' : entry.sha256);
      }
      return out;
    } catch {
      return null;
    } finally {
      await client.quit();
    }
  }

  /** Every tree now. */
  async snapshot(): Promise<Snapshot> {
    const devices = await Promise.all(this.devices.map((d) => readTree(d.folder)));
    const server = await readTree(this.serverFiles);
    const listing = this.server.isRunning ? await this.listing() : null;
    return { devices, server, listing };
  }

  /** Files under final names that hold unknown content, on every device and the server. */
  async halfWritten(): Promise<Violation[]> {
    const out: Violation[] = [];
    for (const device of this.devices) out.push(...this.ledger.halfWritten(await readTree(device.folder), device.name));
    out.push(...this.ledger.halfWritten(await readTree(this.serverFiles), 'server'));
    return out;
  }

  /** Why a snapshot is not converged, or null when every tree and the listing agree. */
  static disagreement(snapshot: Snapshot, names: readonly string[]): string | null {
    const first = snapshot.devices[0];
    if (first === undefined) return null;
    for (let i = 1; i < snapshot.devices.length; i++) {
      const other = snapshot.devices[i] as Tree;
      if (!sameTree(first, other)) return `${names[0]} and ${names[i]} differ: ${treeDiff(first, other, [names[0] ?? '', names[i] ?? '']).join('; ')}`;
    }
    if (!sameTree(filesOf(first), filesOf(snapshot.server))) return `${names[0]} and the server's disk differ: ${treeDiff(filesOf(first), filesOf(snapshot.server), [names[0] ?? '', 'disk']).join('; ')}`;
    if (snapshot.listing === null) return 'the server cannot be listed';
    if (!sameTree(first, snapshot.listing)) return `${names[0]} and the server's LIST differ: ${treeDiff(first, snapshot.listing, [names[0] ?? '', 'list']).join('; ')}`;
    return null;
  }

  /**
   * Waits until every device, the server's disk and its LIST agree, twice in a row.
   * @throws Error with the last difference after `timeoutMs`.
   */
  async converge(timeoutMs: number): Promise<Tree> {
    const names = this.devices.map((d) => d.name);
    let last = 'nothing read yet';
    let previous: Tree | null = null;
    try {
      return await waitUntil(
        'convergence',
        async () => {
          const snapshot = await this.snapshot();
          const why = World.disagreement(snapshot, names);
          if (why !== null) {
            last = why;
            previous = null;
            return undefined;
          }
          const tree = snapshot.devices[0] as Tree;
          if (previous !== null && sameTree(previous, tree)) return tree;
          previous = tree;
          return undefined;
        },
        timeoutMs,
        250,
      );
    } catch {
      throw new Error(`no convergence within ${timeoutMs} ms: ${last}`);
    }
  }

  /** Converges, then records the tree's contents as synced (they must never be lost). */
  async checkpoint(timeoutMs: number): Promise<Tree> {
    const tree = await this.converge(timeoutMs);
    this.ledger.markSynced(tree);
    return tree;
  }

  /** Synced contents found nowhere: not in a tree, the server's files or trash, nor a device's trash. */
  async lost(): Promise<Violation[]> {
    const places: Iterable<string>[] = [];
    for (const device of this.devices) {
      places.push((await readTree(device.folder)).values());
      places.push(await hashesUnder(join(device.state, 'trash')));
    }
    places.push((await readTree(this.serverFiles)).values());
    places.push(await hashesUnder(join(this.server.dataDir, 'trash')));
    return this.ledger.lost(places);
  }

  /** The agent's status over its socket, or null when it does not answer. */
  status(device: Device): Promise<AgentStatus | null> {
    return queryStatus(socketPath(device.state), 5000);
  }

  /** Writes what each agent said into `<device home>/agent.log`, for whoever inspects a broken world. */
  async saveLogs(): Promise<void> {
    for (const device of this.devices) await writeFile(join(device.home, 'agent.log'), device.agent.logs());
  }

  /** Stops every agent (kill -9), the proxies and the server. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.devices.map((d) => d.agent.kill()));
    await Promise.all(this.devices.map((d) => d.proxy.close()));
    await this.server.kill();
  }
}

/**
 * Sets agent settings in a config `fos init` wrote: inside its `agent` section when it has
 * one, at the top level otherwise (the older flat format).
 */
export async function tuneAgent(config: string, settings: Readonly<Record<string, unknown>>): Promise<void> {
  const parsed = JSON.parse(await readFile(config, 'utf8')) as Record<string, unknown>;
  const section = parsed['agent'];
  const next =
    typeof section === 'object' && section !== null ? { ...parsed, agent: { ...(section as Record<string, unknown>), ...settings } } : { ...parsed, ...settings };
  await writeFile(config, `${JSON.stringify(next, null, 2)}\n`);
}
