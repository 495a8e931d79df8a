/**
 * Scopes: an incremental pass looks only at the paths a watcher event or a change notice
 * named. A scope is a set of sync paths; it covers each path, everything below it, and its
 * ancestors (so that the three views agree on the folders above a change). `['']` is the
 * whole folder.
 */
import { lstatSync } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { errnoCode } from '../errors.js';
import { sha256FileSized } from '../fs/hash.js';
import { diskPathOf, diskPathsOf, localError, localPath, lstatOrNull, sameMtime } from './local-fs.js';
import { ancestorsOf, comparePaths, joinPath, toNfc } from './path-tree.js';
import type { BaseState, LocalState } from './types.js';

/** A path the scan could not take in: a symlink, a special file, or unreadable. */
export interface ScanSkip {
  /** The NFC sync path. */
  readonly path: string;
  readonly why: string;
}

/** What a scan found, and what it had to leave alone (reconcile must not read it as deleted). */
export interface ScanResult {
  /**
   * Local states keyed by the name on disk: two names that are one name in NFC (`é` made
   * of one code point or two) are two entries, so that reconcile sees the collision and
   * holds both instead of syncing whichever was listed last.
   */
  readonly local: Map<string, LocalState>;
  readonly skipped: ScanSkip[];
}

/** Options of `scanScope`. */
export interface ScanOptions {
  readonly isIgnored: (path: string, isDir: boolean) => boolean;
  readonly signal?: AbortSignal;
}

/** The scope paths with those below another scope path dropped, sorted. Linear in paths × depth. */
export function minimalScope(paths: Iterable<string>): string[] {
  const unique = new Set(paths);
  if (unique.has('')) return [''];
  return [...unique].filter((path) => !ancestorsOf(path).some((a) => unique.has(a))).sort(comparePaths);
}

/** True when `path` lies in the scope: at or under a scope path (`scope` as a set), or above one. */
export function inScope(path: string, scope: ReadonlySet<string>, above: ReadonlySet<string>): boolean {
  if (scope.has('') || scope.has(path) || above.has(path)) return true;
  return ancestorsOf(path).some((a) => scope.has(a));
}

/** The ancestors of every scope path. */
export function ancestorsOfScope(scope: readonly string[]): Set<string> {
  const above = new Set<string>();
  for (const s of scope) for (const a of ancestorsOf(s)) above.add(a);
  return above;
}

/** The entries of `map` whose key lies in the scope (the whole map for the root scope). */
export function restrict<V>(map: ReadonlyMap<string, V>, scope: readonly string[]): ReadonlyMap<string, V> {
  if (scope.includes('')) return map;
  const scopeSet = new Set(scope);
  const above = ancestorsOfScope(scope);
  const out = new Map<string, V>();
  for (const [key, value] of map) if (inScope(key, scopeSet, above)) out.set(key, value);
  return out;
}

/**
 * Scans the scope under `root`: the files, folders and ancestors it covers, each file
 * hashed only when its size or mtime differ from the manifest. Symlinks are not followed;
 * special files are skipped with a warning. Names are keyed by their NFC sync path.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO` when the root itself cannot be read.
 */
export async function scanScope(
  root: string,
  scope: readonly string[],
  base: ReadonlyMap<string, BaseState>,
  options: ScanOptions,
): Promise<ScanResult> {
  const out = new Map<string, LocalState>();
  const skipped: ScanSkip[] = [];
  const walk: Walk = { root, base, options, out, skip: (path, why) => skipped.push({ path: path.normalize('NFC'), why }), sinceYield: { count: 0 } };
  const paths = minimalScope(scope);
  // Scope paths are sync paths (NFC, from the change feed) or disk paths (from the
  // watcher): each is looked at in every form it has on disk.
  for (const dir of ancestorsOfScope(paths)) {
    const disk = await diskPathOf(root, dir);
    const stats = await lstatOrNull(localPath(root, disk));
    if (stats?.isDirectory() === true && !options.isIgnored(dir.normalize('NFC'), true)) out.set(disk, dirState(disk));
  }
  for (const path of paths) {
    if (path === '') await walkDir(walk, '');
    else for (const disk of await diskPathsOf(root, path)) await visit(walk, disk, await lstatOrNull(localPath(root, disk)));
  }
  return { local: out, skipped };
}

interface Walk {
  readonly root: string;
  readonly base: ReadonlyMap<string, BaseState>;
  readonly options: ScanOptions;
  readonly out: Map<string, LocalState>;
  readonly skip: (diskPath: string, why: string) => void;
  /** Entries since the last yield to the event loop. */
  readonly sinceYield: { count: number };
}

function dirState(diskPath: string): LocalState {
  return { path: toNfc(diskPath), diskPath, kind: 'dir', size: 0, mtimeMs: 0, sha256: '' };
}

/** What a folder listing says of an entry: a folder needs no lstat; anything else gets one. */
type Seen = Stats | 'dir';

async function visit(walk: Walk, diskPath: string, stats: Seen | null): Promise<void> {
  const { root, base, options, out } = walk;
  if (stats === null) return;
  const path = toNfc(diskPath);
  if (stats === 'dir' || stats.isDirectory()) {
    if (options.isIgnored(path, true)) return;
    out.set(diskPath, dirState(diskPath));
    await walkDir(walk, diskPath);
    return;
  }
  if (stats.isSymbolicLink()) {
    if (!options.isIgnored(path, false)) walk.skip(diskPath, 'symbolic link not followed');
    return;
  }
  if (!stats.isFile()) {
    if (!options.isIgnored(path, false)) walk.skip(diskPath, 'special file skipped');
    return;
  }
  if (options.isIgnored(path, false)) return;
  const known = base.get(path);
  let sha256: string;
  if (known !== undefined && known.kind === 'file' && known.size === stats.size && sameMtime(known.mtimeMs, stats.mtimeMs)) {
    sha256 = known.sha256;
  } else {
    try {
      sha256 = await sha256FileSized(localPath(root, diskPath), { sizeHint: stats.size, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    } catch (err) {
      // Vanished between the listing and the read: it is simply not there any more.
      if (errnoCode(err) === 'ENOENT' || (err instanceof Error && errnoCode(err.cause) === 'ENOENT')) return;
      walk.skip(diskPath, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
  }
  out.set(diskPath, { path, diskPath, kind: 'file', size: stats.size, mtimeMs: stats.mtimeMs, sha256 });
}

/** Entries looked at between two yields to the event loop. */
const YIELD_EVERY = 2_000;

async function walkDir(walk: Walk, diskPath: string): Promise<void> {
  const { root, options } = walk;
  let dirents: Dirent[];
  try {
    dirents = await readdir(localPath(root, diskPath), { withFileTypes: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    if (diskPath === '') throw localError(err, `cannot list ${root}`);
    walk.skip(diskPath, `cannot list: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  for (const dirent of dirents) {
    if (options.signal?.aborted === true) return;
    const child = joinPath(diskPath, dirent.name);
    // One lstat per file, synchronous: a thread-pool round trip per file cost most of a
    // no-op pass over 100,000 files (issue 8). A folder's listing says it is one.
    if (++walk.sinceYield.count >= YIELD_EVERY) {
      walk.sinceYield.count = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await visit(walk, child, dirent.isDirectory() ? 'dir' : lstatNow(localPath(root, child)));
  }
}

/** lstat without the thread pool; null when the entry is gone. @throws FosError for other failures. */
function lstatNow(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw localError(err, `cannot read ${path}`);
  }
}
