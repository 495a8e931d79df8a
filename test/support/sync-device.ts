/**
 * A sync device for engine-level tests: a temporary local folder and state folder, a
 * connection pool logged in to a real server, and `sync()` running `runPass` in process.
 * `treeOf` describes a folder by content, so two devices can be compared by hashing.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientPool, FosClient, systemClock } from '../../src/client/index.js';
import type { Clock } from '../../src/client/index.js';
import { closeFolderPair, openFolderPair } from '../../src/sync/folder-pair.js';
import type { FolderPair } from '../../src/sync/folder-pair.js';
import { runPass } from '../../src/sync/pass.js';
import type { PassOptions } from '../../src/sync/pass.js';
import type { PassReport } from '../../src/sync/engine-types.js';
import { hashesUnder, readTree } from '../../test-support/soak-ledger.js';

/** A device under test. */
export interface SyncDevice {
  readonly name: string;
  readonly root: string;
  readonly stateDir: string;
  readonly pair: FolderPair;
  readonly pool: ClientPool;
  /** One pass, as `fos sync` runs it. */
  sync(options?: Partial<Pick<PassOptions, 'dryRun' | 'force' | 'scope' | 'clock' | 'reconcile'>>): Promise<PassReport>;
  /** Closes the pool and the pair's files; `removeFiles` also deletes the folders. */
  close(removeFiles?: boolean): Promise<void>;
}

/** Options of `openDevice`. */
export interface DeviceOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly name: string;
  readonly remote?: string;
  /** Parent folder for the device's folders (a fresh temporary one by default). */
  readonly parent?: string;
  readonly settleMs?: number;
  readonly concurrency?: number;
  /** Names differing only by case are one name (the folder setting `caseInsensitive`). */
  readonly caseInsensitive?: boolean;
}

/** Creates a device with empty folders, logged in with the password. */
export async function openDevice(options: DeviceOptions): Promise<SyncDevice> {
  const parent = options.parent ?? (await mkdtemp(join(tmpdir(), 'fos-sync-')));
  const home = await mkdtemp(join(parent, `${options.name}-`));
  const root = join(home, 'folder');
  const stateDir = join(home, 'state');
  await mkdir(root, { recursive: true });
  const pool = new ClientPool({
    address: { host: options.host, port: options.port },
    credentials: { kind: 'password', user: options.user, password: options.password },
    size: 2,
  });
  const pair = await openFolderPair({
    local: root,
    remote: options.remote ?? '',
    stateDir,
    device: options.name,
    settleMs: options.settleMs ?? 0,
    ...(options.caseInsensitive === undefined ? {} : { caseInsensitive: options.caseInsensitive }),
  });
  const caseRule = options.caseInsensitive === undefined ? {} : { caseInsensitive: options.caseInsensitive };
  const controller = new AbortController();
  return {
    name: options.name,
    root,
    stateDir,
    pair,
    pool,
    sync: (extra = {}) =>
      runPass(pair, {
        run: (fn) => pool.run(fn, { retries: 2, baseMs: 50, signal: controller.signal }),
        clock: extra.clock ?? systemClock,
        signal: controller.signal,
        concurrency: options.concurrency ?? 4,
        ...extra,
        reconcile: { ...caseRule, ...extra.reconcile },
      }),
    async close(removeFiles = false) {
      controller.abort();
      await pool.close();
      await closeFolderPair(pair);
      if (removeFiles) await rm(home, { recursive: true, force: true });
    },
  };
}

/** A clock at a fixed time that only moves when told (conflict names stay predictable). */
export function fixedClock(startMs: number): Clock & { advance(ms: number): void } {
  let now = startMs;
  return {
    now: () => now,
    setTimer: systemClock.setTimer,
    advance(ms: number) {
      now += ms;
    },
  };
}

/**
 * The tree under `root` as `path → sha256` for files and `path/ → 'dir'` for folders,
 * leaving out fos's own `.fos` folder and temporary files.
 */
export async function treeOf(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (path === '.fos' || name.startsWith('.fos-tmp-')) continue;
      const stats = await lstat(join(root, path));
      if (stats.isDirectory()) {
        out[`${path}/`] = 'dir';
        await walk(path);
      } else if (stats.isFile()) {
        out[path] = createHash('sha256').update(await readFile(join(root, path))).digest('hex');
      }
    }
  };
  await walk('');
  return out;
}

/** One hash of a whole tree description. */
export function treeHash(tree: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(Object.entries(tree).sort())).digest('hex');
}

/**
 * Everything under `dir`, fos's own files included: each file's size, mtime and hash and
 * each folder's mtime, so that any write shows. A missing `dir` is empty.
 */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(join(dir, rel));
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const stats = await lstat(join(dir, path));
      if (stats.isDirectory()) {
        out[`${path}/`] = String(stats.mtimeMs);
        await walk(path);
      } else if (stats.isFile()) {
        out[path] = `${stats.size} ${stats.mtimeMs} ${createHash('sha256').update(await readFile(join(dir, path))).digest('hex')}`;
      } else {
        out[path] = `other ${stats.mtimeMs}`;
      }
    }
  };
  await walk('');
  return out;
}

/**
 * Every content (SHA-256) a version can be kept in after syncs: the files under `folders`
 * (device folders, the server's `uploads/<user>`) and under `trashes` (local and server
 * trash). "No data lost" means every version written is in this set.
 */
export async function contentsIn(folders: readonly string[], trashes: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const folder of folders) for (const hash of (await readTree(folder)).values()) found.add(hash);
  for (const trash of trashes) for (const hash of await hashesUnder(trash)) found.add(hash);
  return found;
}

/**
 * The live files the server holds for `user` under `remote` ('' for the user's root), as
 * `sync path → sha256`, read with a fresh login.
 * @throws FosError when the server cannot be reached or refuses the login.
 */
export async function serverFiles(address: { readonly host: string; readonly port: number }, user: string, password: string, remote = ''): Promise<Record<string, string>> {
  const client = await FosClient.connect({ address, credentials: { kind: 'password', user, password } });
  try {
    const listing = await client.list(remote, { recursive: true });
    const prefix = remote === '' ? '' : `${remote}/`;
    return Object.fromEntries(listing.entries.filter((e) => !e.deleted && e.kind === 'file').map((e) => [e.path.slice(prefix.length), e.sha256]));
  } finally {
    await client.quit();
  }
}
