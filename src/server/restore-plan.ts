/**
 * What `fos restore` changes, as a pure function: the tree of a folder as it was at a
 * moment (from the live entries and the trash records current then) compared with the
 * tree now. Storage carries the plan out (storage-restore.ts).
 */
import type { CommittedEntry, TrashRecord } from '../store/types.js';
import { ancestorsOf, isAtOrUnder } from './entry-rules.js';

/** Why a version that existed at the moment cannot come back. */
export type UnrecoverableReason =
  /** Its file is no longer in the trash (purged, or removed by hand). */
  | 'missing'
  /** Its file in the trash does not match the recorded size or SHA-256. */
  | 'damaged';

/** One change of a restore, at one path. */
export type RestoreStep =
  /** The version from the trash comes back, replacing what is there now (`replaces`), if anything. */
  | { readonly action: 'restore'; readonly path: string; readonly version: TrashRecord; readonly replaces: CommittedEntry | null }
  /** A live file or folder that did not exist at the moment goes (a file to the trash). */
  | { readonly action: 'delete'; readonly path: string; readonly entry: CommittedEntry }
  /** A folder that existed at the moment (or holds a restored file) is created, replacing a file if one is there. */
  | { readonly action: 'mkdir'; readonly path: string; readonly replaces: CommittedEntry | null }
  /** The version at the moment cannot come back; what is at the path now stays as it is. */
  | { readonly action: 'unrecoverable'; readonly path: string; readonly version: TrashRecord; readonly reason: UnrecoverableReason };

/** What a restore does. */
export interface RestorePlan {
  /** The changes, ordered by path (UTF-8 byte order). */
  readonly steps: readonly RestoreStep[];
  /** Files and folders already as they were at the moment. */
  readonly unchanged: number;
}

/** What the plan is computed from. */
export interface RestoreInput {
  /** The folder (or file) restored, canonical; '' for everything. */
  readonly path: string;
  /** The moment, ms since the epoch. */
  readonly at: number;
  /** Live entries at `path` and below, with their commit times. */
  readonly live: readonly CommittedEntry[];
  /** Trash records at `path` and below whose version was current at `at`. */
  readonly versions: readonly TrashRecord[];
  /** Records (by id) whose file cannot be used, and why. */
  readonly unavailable: ReadonlyMap<string, UnrecoverableReason>;
}

/** A file wanted at a path: the live version (already in place) or one from the trash. */
type Wanted = { readonly from: 'live'; readonly entry: CommittedEntry } | { readonly from: 'trash'; readonly version: TrashRecord };

/**
 * The steps that return `path` to its state at `at`. A version existed at `at` when it is
 * the live entry committed at or before `at`, or a trash record with
 * `validFrom <= at < trashedAt`. Files that did not exist then go, files that did come
 * back or get their old content, folders the restored tree needs are created, and live
 * folders that the tree does not hold go. A version whose file is unavailable is reported
 * and protects what is at its path now (and below it): a current file is never deleted
 * because its old version is missing.
 */
export function planRestore(input: RestoreInput): RestorePlan {
  const { path: root, at } = input;
  const live = new Map(input.live.map((entry) => [entry.path, entry]));
  const wantedFiles = new Map<string, Wanted>();
  const wantedDirs = new Set<string>();
  for (const entry of input.live) {
    if (entry.committedAt > at) continue;
    if (entry.kind === 'file') wantedFiles.set(entry.path, { from: 'live', entry });
    else wantedDirs.add(entry.path);
  }
  // Records come by path then trashedAt: of two that overlap (clock steps), the later wins.
  for (const version of input.versions) {
    const current = live.get(version.path);
    if (current !== undefined && current.committedAt <= at) continue;
    const held = wantedFiles.get(version.path);
    if (held !== undefined) continue;
    wantedFiles.set(version.path, { from: 'trash', version });
  }

  const steps: RestoreStep[] = [];
  const unrecoverable = new Set<string>();
  for (const [path, wanted] of wantedFiles) {
    if (wanted.from === 'live') continue;
    const reason = input.unavailable.get(wanted.version.id);
    if (reason === undefined) continue;
    wantedFiles.delete(path);
    unrecoverable.add(path);
    steps.push({ action: 'unrecoverable', path, version: wanted.version, reason });
  }
  // Folders the restored files need, up to the restored folder itself.
  for (const path of wantedFiles.keys()) {
    for (const folder of ancestorsOf(path)) if (isAtOrUnder(root, folder)) wantedDirs.add(folder);
  }
  // A path both a file and a folder at once is a history that contradicts itself; the
  // folder wins, because it holds other paths. Nothing current is lost either way.
  for (const path of wantedDirs) wantedFiles.delete(path);

  const isProtected = (path: string): boolean => [...ancestorsOf(path), path].some((p) => unrecoverable.has(p));
  const holdsProtected = (path: string): boolean => [...unrecoverable].some((p) => isAtOrUnder(path, p));
  let unchanged = 0;
  const paths = new Set([...live.keys(), ...wantedFiles.keys(), ...wantedDirs]);
  for (const path of paths) {
    if (isProtected(path)) continue;
    const now = live.get(path) ?? null;
    const file = wantedFiles.get(path);
    if (file !== undefined) {
      if (file.from === 'live' || (now?.kind === 'file' && now.sha256 === file.version.sha256 && now.size === file.version.size)) {
        unchanged += 1;
      } else {
        steps.push({ action: 'restore', path, version: file.version, replaces: now });
      }
    } else if (wantedDirs.has(path)) {
      if (now?.kind === 'dir') unchanged += 1;
      else steps.push({ action: 'mkdir', path, replaces: now });
    } else if (now !== null && !(now.kind === 'dir' && holdsProtected(path))) {
      steps.push({ action: 'delete', path, entry: now });
    }
  }
  steps.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return { steps, unchanged };
}

/** The trash records a plan takes files from. */
export function versionsToRestore(plan: RestorePlan): TrashRecord[] {
  return plan.steps.flatMap((step) => (step.action === 'restore' ? [step.version] : []));
}
