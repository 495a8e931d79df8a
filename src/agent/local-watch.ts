/**
 * The local watcher: chokidar over a pair's folder, with fos's ignore rules, symlinks not
 * followed and no `awaitWriteFinish` (the pass's settle check decides when a file is
 * complete). chokidar watches folders only: a folder's watch reports every name in it that
 * is created, changed, renamed or removed (its raw events), and the scoped pass looks at
 * that name with one lstat; a new folder is named itself, and the pass over it looks at
 * everything in it. A watch, a Stats and a set of closures per file made an idle agent
 * over 100,000 files take more than a GB (issue 8, M1), and one inotify watch per file ran
 * into the system's limit. Each event names a sync path; the worker debounces them into
 * scoped passes.
 * A watcher error asks for a full pass, so a missed event is never a missed change. Under
 * a watcher budget the folders the plan leaves out are not watched (rescans cover them),
 * and a watch the system refuses (its limit reached) is reported by path.
 */
import { join, relative, sep } from 'node:path';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../log/logger.js';
import { errnoCode } from '../errors.js';
import { IGNORE_FILE } from '../sync/ignore.js';
import type { FolderPair } from '../sync/folder-pair.js';
import { ancestorsOf } from '../sync/path-tree.js';
import { FOS_DIR } from '../sync/root-identity.js';

/** What the watcher reports. */
export interface LocalWatchHandlers {
  readonly onPath: (path: string) => void;
  /** Something the watcher cannot describe by path: look at everything. */
  readonly onAll: () => void;
  /** `.fosignore` changed. */
  readonly onIgnoreFile: () => void;
  /**
   * The system refused a watch (ENOSPC: the per-user watch limit is reached; EMFILE: no
   * more watcher instances): changes at `path` ('' when unknown) go unseen until rescanned.
   */
  readonly onRefused?: (path: string) => void;
}

/** How much of the folder to watch. */
export interface LocalWatchOptions {
  /** Folders (disk paths relative to the root) left unwatched with everything below them. */
  readonly unwatched?: ReadonlySet<string>;
}

/** A running watcher. `close()` is idempotent. */
export interface LocalWatch {
  /** Resolves once the initial crawl is done and events flow. */
  readonly ready: Promise<void>;
  /** The sync paths chokidar keeps track of, sorted: folders only ('' is the root). */
  watchedPaths(): string[];
  close(): Promise<void>;
}

/** Error codes by which the system refuses a watch for lack of watches or instances. */
const REFUSED_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EMFILE']);

/** Starts watching `pair.local`. */
export function watchLocal(pair: FolderPair, handlers: LocalWatchHandlers, logger: Logger, options: LocalWatchOptions = {}): LocalWatch {
  const toSync = (absolute: string): string | null => {
    const rel = relative(pair.local, absolute);
    if (rel.startsWith('..')) return null;
    return sep === '/' ? rel : rel.split(sep).join('/');
  };
  const unwatched = options.unwatched ?? new Set<string>();
  const isUnwatched = (path: string): boolean => unwatched.size > 0 && (unwatched.has(path) || ancestorsOf(path).some((a) => unwatched.has(a)));
  const watcher: FSWatcher = watch(pair.local, {
    ignoreInitial: true,
    followSymlinks: false,
    awaitWriteFinish: false,
    ignored: (absolute, stats) => {
      const path = toSync(absolute);
      if (path === null || path === '') return false;
      if (path === FOS_DIR || path.startsWith(`${FOS_DIR}/`)) return true;
      if (isUnwatched(path)) return true;
      // Files are seen through their folder's watch (raw events below), never watched one by one.
      if (stats !== undefined && !stats.isDirectory()) return true;
      return pair.isIgnored(path.normalize('NFC'), stats?.isDirectory() === true);
    },
  });
  const onEvent = (absolute: string): void => {
    const path = toSync(absolute);
    if (path === null) return;
    if (path === '') {
      handlers.onAll();
      return;
    }
    if (path === IGNORE_FILE) handlers.onIgnoreFile();
    handlers.onPath(path);
  };
  for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) watcher.on(event, onEvent);
  // A name in a watched folder changed: a file (created, written, renamed, removed) or a
  // folder (whose own events follow). The pass scoped to it decides what it is.
  watcher.on('raw', (_event: string, name: unknown, details: unknown) => {
    const folder = typeof details === 'object' && details !== null && 'watchedPath' in details ? details.watchedPath : undefined;
    if (typeof name !== 'string' || name === '' || typeof folder !== 'string') return;
    const path = toSync(join(folder, name));
    if (path === null || path === '' || path === FOS_DIR || path.startsWith(`${FOS_DIR}/`) || isUnwatched(path)) return;
    if (pair.isIgnored(path.normalize('NFC'), false)) return;
    if (path === IGNORE_FILE) handlers.onIgnoreFile();
    handlers.onPath(path);
  });
  watcher.on('error', (err) => {
    const code = errnoCode(err);
    if (code !== undefined && REFUSED_CODES.has(code) && handlers.onRefused !== undefined) {
      const where = err instanceof Error && 'path' in err && typeof err.path === 'string' ? toSync(err.path) : null;
      handlers.onRefused(where ?? '');
    } else {
      logger.warn({ err }, 'watcher error; rescanning');
    }
    handlers.onAll();
  });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  let closing: Promise<void> | null = null;
  return {
    ready,
    watchedPaths() {
      const paths = new Set<string>();
      for (const [folder, names] of Object.entries(watcher.getWatched())) {
        for (const absolute of [folder, ...names.map((name) => join(folder, name))]) {
          const path = toSync(absolute);
          if (path !== null) paths.add(path);
        }
      }
      return [...paths].sort();
    },
    close() {
      closing ??= watcher.close();
      return closing;
    },
  };
}
