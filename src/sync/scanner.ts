/**
 * The local scan: walks a folder without recursion (an explicit stack of folders), NFC
 * sync paths beside the names as they are on disk, ignored paths skipped without descent,
 * symlinks never followed, special files skipped, empty folders kept. A file is hashed
 * (streaming SHA-256, bounded concurrency) only when its size or mtime differs from the
 * base (DESIGN.md "Sync semantics"). A file that cannot be read, a symlink, a special file
 * and a file still being written are reported and listed in `held`, so reconcile leaves
 * them alone instead of reading them as deleted (issue 11: per-file error isolation).
 */
import { lstatSync } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, FosError } from '../errors.js';
import { sha256File } from '../fs/hash.js';
import { joinPath, toNfc } from './path-tree.js';
import type { BaseState, LocalState } from './types.js';

/** How a folder is scanned. */
export interface ScanOptions {
  /** The local folder (absolute). */
  readonly root: string;
  /** Manifest records: a file matching its record in size and mtime is not re-hashed. */
  readonly base?: ReadonlyMap<string, BaseState>;
  readonly isIgnored?: (path: string, isDir: boolean) => boolean;
  /** Files hashed at once. Default 4. */
  readonly hashConcurrency?: number;
  /** A file changed less than this long ago is held as still being written. Default 0 (off). */
  readonly settleMs?: number;
  /** Clock for `settleMs`. */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  /** Hashes a file; `sha256File` by default. */
  readonly hashFile?: (path: string, signal?: AbortSignal) => Promise<string>;
}

/** Something the scan skipped on purpose. */
export interface ScanWarning {
  readonly code: 'symlink' | 'special';
  /** The NFC sync path. */
  readonly path: string;
  readonly diskPath: string;
  readonly message: string;
}

/** A path the scan could not read; the other files are unaffected. */
export interface ScanFileError {
  readonly path: string;
  readonly diskPath: string;
  readonly error: FosError;
}

/** What a scan found. */
export interface ScanResult {
  /** 'missing' when the root is absent or not a folder; then nothing else is filled. */
  readonly root: 'present' | 'missing';
  /** Local states keyed by on-disk relative path (two disk names may share an NFC path). */
  readonly local: Map<string, LocalState>;
  readonly warnings: ScanWarning[];
  readonly errors: ScanFileError[];
  /** NFC paths of files changed less than `settleMs` ago (or while being hashed). */
  readonly unsettled: string[];
  /** Every NFC path reconcile must leave alone: warnings, errors and unsettled files. */
  readonly held: string[];
  /** How many files were hashed. */
  readonly hashed: number;
}

interface HashJob {
  readonly state: LocalState;
  readonly abs: string;
}

const YIELD_EVERY = 2_000;

/**
 * Scans a folder.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO` when the root exists but cannot be listed;
 * the signal's reason when aborted.
 */
export async function scanFolder(options: ScanOptions): Promise<ScanResult> {
  const { root, signal } = options;
  const result: ScanResult = { root: 'present', local: new Map(), warnings: [], errors: [], unsettled: [], held: [], hashed: 0 };
  const rootStat = await lstat(root).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null;
    throw ioError(err, `cannot read the folder ${root}`);
  });
  if (rootStat === null || !rootStat.isDirectory()) return { ...result, root: 'missing' };

  const isIgnored = options.isIgnored ?? ((): boolean => false);
  const base = options.base ?? new Map<string, BaseState>();
  const settleMs = options.settleMs ?? 0;
  const now = options.now ?? Date.now;
  const jobs: HashJob[] = [];
  const hold = (path: string): void => {
    result.held.push(path);
  };
  const fail = (path: string, diskPath: string, err: unknown, action: string): void => {
    result.errors.push({ path, diskPath, error: ioError(err, `cannot ${action} ${diskPath}`) });
    hold(path);
  };

  // Folders still to list: [NFC path, disk path]; '' is the root.
  const stack: [string, string][] = [['', '']];
  let sinceYield = 0;
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const [dirPath, dirDisk] = stack.pop() as [string, string];
    let dirents: Dirent[];
    try {
      dirents = await readdir(dirDisk === '' ? root : join(root, dirDisk), { withFileTypes: true });
    } catch (err) {
      if (dirDisk === '') throw ioError(err, `cannot list the folder ${root}`);
      // A folder that vanished mid-scan is simply gone; one that cannot be listed is held.
      if (errnoCode(err) !== 'ENOENT') fail(dirPath, dirDisk, err, 'list the folder');
      continue;
    }
    for (const dirent of dirents) {
      const diskPath = joinPath(dirDisk, dirent.name);
      const path = joinPath(dirPath, toNfc(dirent.name));
      const abs = join(root, diskPath);
      // Synchronous lstat: a fraction of the cost of the thread-pool round trip, which is
      // what keeps a scan of 100,000 files in sync well under 2 s. Yield now and then.
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
        signal?.throwIfAborted();
      }
      const entry = examine(dirent, abs);
      switch (entry.type) {
        case 'dir':
          if (isIgnored(path, true)) break;
          result.local.set(diskPath, { path, diskPath, kind: 'dir', size: 0, mtimeMs: 0, sha256: '' });
          stack.push([path, diskPath]);
          break;
        case 'file': {
          if (isIgnored(path, false)) break;
          const st = entry.stats;
          if (settleMs > 0 && now() - Math.max(st.mtimeMs, st.ctimeMs) < settleMs) {
            result.unsettled.push(path);
            hold(path);
            break;
          }
          const known = base.get(path);
          const state: LocalState = { path, diskPath, kind: 'file', size: st.size, mtimeMs: st.mtimeMs, sha256: '' };
          if (known?.kind === 'file' && known.size === st.size && known.mtimeMs === st.mtimeMs) {
            result.local.set(diskPath, { ...state, sha256: known.sha256 });
          } else {
            jobs.push({ state, abs });
          }
          break;
        }
        case 'symlink':
          if (isIgnored(path, false)) break;
          result.warnings.push({ code: 'symlink', path, diskPath, message: `${diskPath}: symbolic link not followed` });
          hold(path);
          break;
        case 'special':
          if (isIgnored(path, false)) break;
          result.warnings.push({ code: 'special', path, diskPath, message: `${diskPath}: special file skipped` });
          hold(path);
          break;
        case 'error':
          if (!isIgnored(path, false)) fail(path, diskPath, entry.error, 'read');
          break;
        case 'gone':
          break;
        default: {
          const unreachable: never = entry;
          throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `unknown entry ${String(unreachable)}`);
        }
      }
    }
  }

  const hashed = await runHashJobs(jobs, options, result, fail, hold);
  return { ...result, hashed };
}

async function runHashJobs(
  jobs: readonly HashJob[],
  options: ScanOptions,
  result: ScanResult,
  fail: (path: string, diskPath: string, err: unknown, action: string) => void,
  hold: (path: string) => void,
): Promise<number> {
  const { signal } = options;
  const hashFile = options.hashFile ?? ((path: string, s?: AbortSignal) => sha256File(path, s === undefined ? {} : { signal: s }));
  let next = 0;
  let hashed = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++] as HashJob;
      signal?.throwIfAborted();
      const { state } = job;
      try {
        const sha256 = await hashFile(job.abs, signal);
        hashed++;
        const after = await lstat(job.abs);
        if (after.size !== state.size || after.mtimeMs !== state.mtimeMs) {
          // Written to while we read it: the hash may be of a torn file. Next pass.
          result.unsettled.push(state.path);
          hold(state.path);
          continue;
        }
        result.local.set(state.diskPath, { ...state, sha256 });
      } catch (err) {
        if (signal?.aborted === true) throw signal.reason;
        const code = errnoCode(err) ?? errnoCode(err instanceof FosError ? err.cause : undefined);
        if (code !== 'ENOENT') fail(state.path, state.diskPath, err, 'hash');
      }
    }
  };
  const workers = Math.max(1, Math.min(options.hashConcurrency ?? 4, jobs.length));
  await Promise.all(Array.from({ length: workers }, () => worker()));
  return hashed;
}

type Examined =
  | { readonly type: 'dir' | 'symlink' | 'special' | 'gone' }
  | { readonly type: 'file'; readonly stats: Stats }
  | { readonly type: 'error'; readonly error: unknown };

/** What a folder entry is; files get their lstat (size, times). Links are never followed. */
function examine(dirent: Dirent, abs: string): Examined {
  if (dirent.isDirectory()) return { type: 'dir' };
  if (dirent.isSymbolicLink()) return { type: 'symlink' };
  if (dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice()) {
    return { type: 'special' };
  }
  // A file, or a type the file system did not report (DT_UNKNOWN): lstat says.
  let st: Stats | undefined;
  try {
    st = lstatSync(abs, { throwIfNoEntry: false });
  } catch (error) {
    return { type: 'error', error };
  }
  if (st === undefined) return { type: 'gone' };
  if (st.isFile()) return { type: 'file', stats: st };
  if (st.isDirectory()) return { type: 'dir' };
  return { type: st.isSymbolicLink() ? 'symlink' : 'special' };
}

function ioError(err: unknown, message: string): FosError {
  if (err instanceof FosError) return err;
  const code = errnoCode(err);
  return new FosError('FOS_ERR_SYNC_LOCAL_IO', code === undefined ? message : `${message}: ${code}`, { cause: err });
}

/** Options of `isStable`. */
export interface StableOptions {
  readonly now?: () => number;
}

/**
 * True when the file exists and neither its content nor its metadata changed during the
 * last `settleMs` (mtime and ctime both that old: a writer that sets mtime back still moves
 * ctime). A file still being written is uploaded only once this holds (DESIGN.md).
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO` when the file cannot be examined (missing: false).
 */
export async function isStable(path: string, settleMs: number, options: StableOptions = {}): Promise<boolean> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw ioError(err, `cannot examine ${path}`);
  }
  const now = (options.now ?? Date.now)();
  return st.isFile() && now - Math.max(st.mtimeMs, st.ctimeMs) >= settleMs;
}
