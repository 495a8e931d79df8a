/**
 * A folder pair's state on this device, as passes share it: the manifest (with the root's
 * recorded identity), the remote view, the local trash, the per-path errors and the settle
 * tracker. Files live in the state folder: `<pairId>.manifest.json`, `<pairId>.remote.json`
 * and `trash/`.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, opendir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { localError } from './local-fs.js';
import { ErrorBook } from './error-book.js';
import { loadIgnoreMatcher } from './ignore.js';
import { Manifest } from './manifest.js';
import type { FosError } from '../errors.js';
import { RemoteView } from './remote-view.js';
import { SettleTracker } from './settle.js';
import { FOS_DIR } from './root-identity.js';
import { LocalTrash } from './trash.js';

/** What a pair needs to be opened. */
export interface FolderPairSpec {
  /** The pair's id (names its state files); derived from the two folders when absent. */
  readonly id?: string;
  /** Names differing only by case are one name (case-insensitive folder); detected when absent. */
  readonly caseInsensitive?: boolean;
  /** The local folder. */
  readonly local: string;
  /** The remote folder ('' for the user's root). */
  readonly remote: string;
  readonly stateDir: string;
  readonly device: string;
  /** Ignore patterns from the config, after the defaults. */
  readonly ignore?: readonly string[];
  readonly settleMs: number;
  /** Compress this pair's transfers (the config's `compress`; default false). */
  readonly compress?: boolean;
  /** Minimum time between two batched manifest writes (default 1000 ms). */
  readonly flushIntervalMs?: number;
  /** Receives failures of batched manifest writes. */
  readonly onManifestError?: (err: FosError) => void;
}

/** A pair's state, shared by the passes of one process. */
export interface FolderPair {
  readonly id: string;
  readonly local: string;
  readonly remote: string;
  readonly device: string;
  /** Compress transfers (brotli, else gzip), as rsync -z. */
  readonly compress: boolean;
  readonly manifest: Manifest;
  readonly view: RemoteView;
  readonly errors: ErrorBook;
  readonly trash: LocalTrash;
  readonly settle: SettleTracker;
  readonly ignorePatterns: readonly string[];
  /** From the config, or detected on the folder when the pair was opened. */
  readonly caseInsensitive: boolean;
  isIgnored: (path: string, isDir: boolean) => boolean;
}

/** The id of a pair: a readable name plus a hash that keeps pairs apart. */
export function pairId(local: string, remote: string): string {
  const hash = createHash('sha256').update(`${resolve(local)}\0${remote}`).digest('hex').slice(0, 12);
  const name = basename(resolve(local)).replace(/[^A-Za-z0-9_-]/gu, '_').slice(0, 40) || 'root';
  return `${name}-${hash}`;
}

/** The file a pair's remote view is kept in. */
export function remoteViewFile(stateDir: string, pairId: string): string {
  return join(stateDir, `${pairId}.remote.json`);
}

/**
 * Opens (creating as needed) the state of a pair.
 * @throws FosError when the state folder cannot be created, the manifest not read or
 * `.fosignore` not read.
 */
export async function openFolderPair(spec: FolderPairSpec): Promise<FolderPair> {
  const local = resolve(spec.local);
  const stateDir = resolve(spec.stateDir);
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw localError(err, `cannot create the state folder ${stateDir}`);
  }
  const id = spec.id ?? pairId(local, spec.remote);
  const manifest = await Manifest.open({
    stateDir,
    pairId: id,
    ...(spec.flushIntervalMs === undefined ? {} : { flushIntervalMs: spec.flushIntervalMs }),
    ...(spec.onManifestError === undefined ? {} : { onError: spec.onManifestError }),
  });
  const view = await RemoteView.load(remoteViewFile(stateDir, id), spec.remote);
  const pair: FolderPair = {
    id,
    local,
    remote: spec.remote,
    device: spec.device,
    compress: spec.compress === true,
    manifest,
    view,
    errors: new ErrorBook(),
    trash: new LocalTrash(join(stateDir, 'trash')),
    settle: new SettleTracker(spec.settleMs),
    ignorePatterns: spec.ignore ?? [],
    caseInsensitive: spec.caseInsensitive ?? (await detectCaseInsensitive(local)),
    isIgnored: () => false,
  };
  await reloadIgnore(pair);
  return pair;
}

/** Entries of the folder looked at, at most, to tell whether it folds case. */
const CASE_PROBES = 32;

/**
 * Whether the file system under `root` treats names that differ only by case as one name
 * (APFS and NTFS by default, a casefolded ext4 folder): an entry is looked up under its
 * name with the case of its letters swapped, `.fos` first (it is there after the first
 * sync), then the first entries of the folder. Found as the same file: case-insensitive;
 * not found, or another file: case-sensitive. Writes nothing. With nothing to look at (an
 * empty or missing folder), the platform's default: case-insensitive on macOS and Windows.
 */
export async function detectCaseInsensitive(root: string): Promise<boolean> {
  const names = [FOS_DIR];
  try {
    const dir = await opendir(root);
    for await (const entry of dir) {
      names.push(entry.name);
      if (names.length > CASE_PROBES) break;
    }
  } catch {
    // A missing or unreadable root: `.fos` alone, then the platform's default.
  }
  for (const name of names) {
    const swapped = swapCase(name);
    if (swapped === name) continue;
    const [original, other] = await Promise.all([lstat(join(root, name)).catch(() => null), lstat(join(root, swapped)).catch(() => null)]);
    if (original === null) continue;
    return other !== null && other.ino === original.ino && other.dev === original.dev;
  }
  return process.platform === 'darwin' || process.platform === 'win32';
}

function swapCase(name: string): string {
  let out = '';
  for (const ch of name) {
    const upper = ch.toUpperCase();
    out += upper === ch ? ch.toLowerCase() : upper;
  }
  return out;
}

/** Rereads `.fosignore` (after it changed). A missing root keeps the config's rules only. */
export async function reloadIgnore(pair: FolderPair): Promise<void> {
  const matcher = await loadIgnoreMatcher(pair.local, { patterns: pair.ignorePatterns });
  pair.isIgnored = (path, isDir) => matcher.isIgnored(path, isDir);
}

/** Saves the remote view and flushes the manifest, then releases them. Idempotent. */
export async function closeFolderPair(pair: FolderPair): Promise<void> {
  await pair.view.save();
  await pair.manifest.close();
}
