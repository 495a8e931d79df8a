/**
 * The invariants of the reliability tests, checked by hashing and never by names
 * (issue 9): trees read as `path → SHA-256`, a ledger of every content the tests wrote
 * and of every content present at a successful sync, and the checks built on them: no
 * file under its final name holds anything but a complete known content (nothing half
 * written), and every content that existed at a successful sync is still somewhere.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** fos's own temporary names (downloads in flight, atomic writes); never a final name. */
const TEMP_PREFIX = '.fos-tmp-';
/** fos's folder inside a synced root (folder id); never synced. */
const FOS_DIR = '.fos';

/** A tree by content: files as `path → sha256`, folders as `path/ → 'dir'`. */
export type Tree = ReadonlyMap<string, string>;

/** Hex SHA-256 of some bytes. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Reads the tree under `root`, leaving out `.fos/` and fos's temporary files. A name that
 * vanishes while it is read (a sync moving it) is left out; a missing root is empty.
 */
export async function readTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(rel === '' ? root : join(root, rel))).sort();
    } catch (err) {
      if (isGone(err)) return;
      throw err;
    }
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if ((rel === '' && name === FOS_DIR) || name.toLowerCase().startsWith(TEMP_PREFIX)) continue;
      try {
        const stats = await lstat(join(root, path));
        if (stats.isDirectory()) {
          out.set(`${path}/`, 'dir');
          await walk(path);
        } else if (stats.isFile()) {
          out.set(path, sha256(await readFile(join(root, path))));
        }
      } catch (err) {
        if (!isGone(err)) throw err;
      }
    }
  };
  await walk('');
  return out;
}

/** The hashes of every regular file under `dir`, whatever its name (trash folders). */
export async function hashesUnder(dir: string): Promise<Set<string>> {
  const tree = await readTreeRaw(dir);
  return new Set(tree.values());
}

async function readTreeRaw(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (folder: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch (err) {
      if (isGone(err)) return;
      throw err;
    }
    for (const name of names) {
      const path = join(folder, name);
      try {
        const stats = await lstat(path);
        if (stats.isDirectory()) await walk(path);
        else if (stats.isFile()) out.set(path, sha256(await readFile(path)));
      } catch (err) {
        if (!isGone(err)) throw err;
      }
    }
  };
  await walk(dir);
  return out;
}

/** The files of a tree (folders left out). */
export function filesOf(tree: Tree): Map<string, string> {
  return new Map([...tree].filter(([path]) => !path.endsWith('/')));
}

/** Where two trees differ, as at most `limit` readable lines; empty when equal. */
export function treeDiff(a: Tree, b: Tree, names: readonly [string, string], limit = 10): string[] {
  const lines: string[] = [];
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(path);
    const y = b.get(path);
    if (x === y) continue;
    lines.push(`${path}: ${names[0]}=${x?.slice(0, 12) ?? '-'} ${names[1]}=${y?.slice(0, 12) ?? '-'}`);
    if (lines.length >= limit) break;
  }
  return lines;
}

/** True when the trees hold the same paths with the same content. */
export function sameTree(a: Tree, b: Tree): boolean {
  if (a.size !== b.size) return false;
  for (const [path, hash] of a) if (b.get(path) !== hash) return false;
  return true;
}

/** A broken invariant, for the report. */
export interface Violation {
  readonly kind: 'half-written' | 'lost' | 'diverged' | 'server-metadata' | 'silent-stop';
  readonly detail: string;
}

/** Every content written by the test, and every content present at a successful sync. */
export class ContentLedger {
  readonly #known = new Map<string, number>();
  readonly #synced = new Set<string>();
  bytesWritten = 0;

  /** Registers a content about to be written; returns its hash. */
  add(data: Uint8Array): string {
    const hash = sha256(data);
    this.#known.set(hash, data.length);
    this.bytesWritten += data.length;
    return hash;
  }

  isKnown(hash: string): boolean {
    return this.#known.has(hash);
  }

  /** The contents of a converged tree: from now on, each must stay somewhere. */
  markSynced(tree: Tree): void {
    for (const [path, hash] of tree) if (!path.endsWith('/')) this.#synced.add(hash);
  }

  get syncedCount(): number {
    return this.#synced.size;
  }

  get knownCount(): number {
    return this.#known.size;
  }

  /**
   * Files under a final name whose content is not one the test wrote: half written,
   * torn or mixed (checked by hash; names do not matter).
   */
  halfWritten(tree: Tree, where: string): Violation[] {
    const out: Violation[] = [];
    for (const [path, hash] of tree) {
      if (path.endsWith('/') || this.#known.has(hash)) continue;
      out.push({ kind: 'half-written', detail: `${where}: ${path} holds unknown content ${hash.slice(0, 12)}` });
    }
    return out;
  }

  /** Synced contents found in none of `places` (trees, trash folders). */
  lost(places: readonly Iterable<string>[]): Violation[] {
    const found = new Set<string>();
    for (const place of places) for (const hash of place) found.add(hash);
    const out: Violation[] = [];
    for (const hash of this.#synced) {
      if (!found.has(hash)) out.push({ kind: 'lost', detail: `content ${hash.slice(0, 12)} (${this.#known.get(hash) ?? '?'} bytes) existed at a successful sync and is gone` });
    }
    return out;
  }
}
