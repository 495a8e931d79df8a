/**
 * The sync engine's shared types: the three views of a path (local, base, remote), the
 * operations a plan is made of, and the plan itself.
 *
 * Paths are '/'-separated, relative to the folder pair's root (local root on this
 * device, remote folder on the server), Unicode NFC, with no leading or trailing '/'.
 */
import type { Entry, EntryKind } from '../protocol/types.js';

/** A path as the scanner found it on this device. */
export interface LocalState {
  /** The sync path: relative, '/'-separated, Unicode NFC. */
  readonly path: string;
  /**
   * The relative name exactly as it is on disk (NFD on some systems). Equal to `path` in
   * the common case; every local file-system operation of the executor uses this one.
   */
  readonly diskPath: string;
  readonly kind: EntryKind;
  /** Bytes; 0 for folders. */
  readonly size: number;
  /** Modification time in ms since the epoch; 0 for folders (reconcile ignores it). */
  readonly mtimeMs: number;
  /** Lower-case hex SHA-256; '' for folders. Copied from the base when not re-hashed. */
  readonly sha256: string;
}

/**
 * The manifest's record for a path: the state both sides last agreed on. `mtimeMs` is the
 * local file's mtime at that moment (the scanner's "unchanged" key); `rev` is the server
 * revision, which is how a remote change is noticed.
 */
export interface BaseState {
  readonly kind: EntryKind;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  readonly rev: number;
}

/** The server's view of a path. */
export type RemoteState = Entry;

/**
 * Which rule of reconcile produced an operation; `fos status --why` prints it.
 *
 * - `localNew` / `remoteNew`: created on one side only.
 * - `localChanged` / `remoteChanged`: changed on one side only (content or kind).
 * - `localDeleted` / `remoteDeleted`: deleted on one side, unchanged on the other.
 * - `bothDeleted`: gone on both sides; only the manifest record goes.
 * - `localDeletedRemoteChanged` / `remoteDeletedLocalChanged`: the modification wins.
 * - `sameContent`: both sides hold the same content; only the manifest is updated.
 * - `metadataOnly`: same content, newer mtime or revision; only the manifest is updated.
 * - `bothChanged` / `bothNew` / `kindMismatch`: a conflict.
 * - `localMoved` / `remoteMoved`: a delete plus an add of the same content.
 * - `conflictAlreadyCopied`: the losing version already exists as a conflict copy.
 * - `duplicateCopy`: a conflict copy whose content another copy of the same file already
 *   keeps (several devices copied the same conflict at once); it goes to the trash on both
 *   sides and does not count toward the mass-delete guard.
 * - `keptForChildren`: a deleted folder is recreated because something inside survives.
 */
export type Rule =
  | 'localNew'
  | 'remoteNew'
  | 'localChanged'
  | 'remoteChanged'
  | 'localDeleted'
  | 'remoteDeleted'
  | 'bothDeleted'
  | 'localDeletedRemoteChanged'
  | 'remoteDeletedLocalChanged'
  | 'sameContent'
  | 'metadataOnly'
  | 'bothChanged'
  | 'bothNew'
  | 'kindMismatch'
  | 'localMoved'
  | 'remoteMoved'
  | 'conflictAlreadyCopied'
  | 'duplicateCopy'
  | 'keptForChildren';

/**
 * Send a local file. `baseRev` is the server revision the upload replaces, or null for
 * "the path must not exist on the server" (the server refuses otherwise).
 * Manifest afterwards: `{ ...local, rev: <rev from the reply> }`.
 */
export interface UploadOp {
  readonly kind: 'upload';
  readonly path: string;
  readonly baseRev: number | null;
  readonly local: LocalState;
  readonly rule: Rule;
}

/**
 * Fetch a remote file into a temporary file beside the target, then rename it into place
 * with `entry.mtimeMs`. `expectLocal` is what the path holds locally now (null: nothing);
 * the executor refuses when the local path no longer matches it.
 * Manifest afterwards: `{ kind, size, sha256, rev } of entry`, `mtimeMs` as written.
 */
export interface DownloadOp {
  readonly kind: 'download';
  readonly path: string;
  readonly entry: Entry;
  readonly expectLocal: LocalState | null;
  readonly rule: Rule;
}

/** Delete on the server if it is still at `baseRev`. Manifest afterwards: no record. */
export interface DeleteRemoteOp {
  readonly kind: 'deleteRemote';
  readonly path: string;
  readonly entryKind: EntryKind;
  readonly baseRev: number;
  readonly rule: Rule;
}

/**
 * Delete locally if the path still matches `expect` (size, mtime, kind); a folder is only
 * removed when it holds nothing but ignored names. Manifest afterwards: no record.
 */
export interface DeleteLocalOp {
  readonly kind: 'deleteLocal';
  readonly path: string;
  readonly expect: LocalState;
  readonly rule: Rule;
}

/** Create a folder on the server (no-op if it is already a folder). Manifest: dir record. */
export interface MkdirRemoteOp {
  readonly kind: 'mkdirRemote';
  readonly path: string;
  readonly rule: Rule;
}

/** Create a local folder (no-op if it is already one). Manifest: dir record at `entry.rev`. */
export interface MkdirLocalOp {
  readonly kind: 'mkdirLocal';
  readonly path: string;
  readonly entry: Entry;
  readonly rule: Rule;
}

/**
 * MOVE on the server, `from` still at `baseRev`, to `to` (which must not exist). For a
 * folder the whole subtree moves in one operation. Manifest afterwards: every record at or
 * under `from` is re-keyed to `to`, with the revisions from the server's reply and each
 * file's mtime from the local scan of its new path (`local` for a single file).
 */
export interface MoveRemoteOp {
  readonly kind: 'moveRemote';
  readonly from: string;
  readonly to: string;
  readonly entryKind: EntryKind;
  readonly baseRev: number;
  /** The local state at `to` (what the rename produced). */
  readonly local: LocalState;
  readonly rule: Rule;
}

/**
 * Rename locally `from` (which must still match `expect`) to `to` (which must not exist);
 * a folder moves with its subtree. Manifest afterwards: every record at or under `from`
 * re-keyed to `to`, with the revisions of the remote view of `to`'s subtree and each
 * file's mtime as the renamed file has it (`expect.mtimeMs` for a single file).
 */
export interface MoveLocalOp {
  readonly kind: 'moveLocal';
  readonly from: string;
  readonly to: string;
  readonly entryKind: EntryKind;
  readonly expect: LocalState;
  readonly entry: Entry;
  readonly rule: Rule;
}

/**
 * Two versions of a path; both survive. The folder always wins over a file; between two
 * files the server's version keeps the name. The loser moves to `copyPath`, in the same
 * folder, and reaches both sides.
 *
 * `loser: 'local'` (local is a file):
 * 1. rename local `path` to `copyPath` (refuse if `path` no longer matches `local`);
 * 2. upload `copyPath` with base revision null;
 * 3. materialise `remote` at `path`: download it (file) or create the folder (dir);
 * 4. manifest: records for both paths.
 *
 * `loser: 'remote'` (remote is a file, local a folder):
 * 1. MOVE `path` to `copyPath` on the server at base revision `remote.rev`;
 * 2. download `copyPath` locally (it must not exist);
 * 3. create the folder `path` on the server;
 * 4. manifest: records for both paths.
 */
export interface ConflictOp {
  readonly kind: 'conflict';
  readonly path: string;
  readonly copyPath: string;
  readonly loser: 'local' | 'remote';
  readonly local: LocalState;
  readonly remote: Entry;
  readonly rule: Rule;
}

/** Both sides already agree: only write `state` into the manifest. */
export interface UpdateBaseOp {
  readonly kind: 'updateBase';
  readonly path: string;
  readonly state: BaseState;
  readonly rule: Rule;
}

/** Gone on both sides: only remove the manifest record. */
export interface DropBaseOp {
  readonly kind: 'dropBase';
  readonly path: string;
  readonly rule: Rule;
}

/** A deletion on either side: what the mass-delete guard counts and holds. */
export type DeletionOp = DeleteRemoteOp | DeleteLocalOp;

/** One step of a plan. */
export type Op =
  | UploadOp
  | DownloadOp
  | DeleteRemoteOp
  | DeleteLocalOp
  | MkdirRemoteOp
  | MkdirLocalOp
  | MoveRemoteOp
  | MoveLocalOp
  | ConflictOp
  | UpdateBaseOp
  | DropBaseOp;

/** The operation kinds, in a stable order (summaries, output). */
export const OP_KINDS = [
  'conflict',
  'deleteRemote',
  'deleteLocal',
  'mkdirRemote',
  'mkdirLocal',
  'moveRemote',
  'moveLocal',
  'upload',
  'download',
  'updateBase',
  'dropBase',
] as const satisfies readonly Op['kind'][];

/** How many operations of each kind a plan holds. */
export type OpCounts = Readonly<Record<Op['kind'], number>>;

/**
 * Something reconcile refused to decide; nothing is written at or under `path`.
 *
 * - `nameCollision`: several local names are one name in NFC (or under case folding
 *   when `caseInsensitive`); `paths` lists them as found on disk.
 * - `caseCollision`: the folder is case-insensitive and the synced tree would hold names
 *   that differ only by case; `paths` lists them.
 * - `conflictCap`: the path already has `maxConflictCopies` conflict copies; both versions
 *   stay where they are until someone cleans up.
 */
export type Problem =
  | { readonly code: 'nameCollision'; readonly path: string; readonly paths: readonly string[] }
  | { readonly code: 'caseCollision'; readonly path: string; readonly paths: readonly string[] }
  | { readonly code: 'conflictCap'; readonly path: string; readonly copies: number };

/** Why a guard tripped. */
export type GuardKind = 'rootMissing' | 'rootReplaced' | 'rootEmpty' | 'massDelete';

/**
 * A tripped safety guard. When `blocked` (no `force`), the plan holds no deletion the guard
 * counts and no operation that needs one; for `rootMissing` and `rootReplaced` it holds no
 * operation at all. A blocked `massDelete` lists what it held back in `Plan.held` (the
 * pass records them on the server as held batches); the root guards hold nothing.
 * `fos sync` exits 7 on a blocked guard.
 */
export interface Guard {
  readonly kind: GuardKind;
  /** Files the plan wanted to delete, both sides together (exempt deletions left out). */
  readonly deletions: number;
  /** Files in the base. */
  readonly total: number;
  /** Bytes of the files counted in `deletions`. */
  readonly bytes: number;
  readonly blocked: boolean;
}

/** What state the local root was found in by the caller. */
export type LocalRootState = 'present' | 'missing' | 'replaced';

/** Tunables of reconcile. */
export interface ReconcileOptions {
  /** A plan deleting more than this share of the base's files trips the guard. Default 0.5. */
  readonly maxDeleteShare?: number;
  /** The share rule applies from this many deletions on. Default 1. */
  readonly minGuardDeletions?: number;
  /** A plan deleting more than this many files trips the guard. Default 1000. */
  readonly maxDeleteFiles?: number;
  /** A plan deleting files of more than this many bytes trips the guard. Default 10 GiB. */
  readonly maxDeleteBytes?: number;
  /** Carry out deletions despite a tripped guard. Default false. */
  readonly force?: boolean;
  /** The local folder folds case (macOS, Windows): names differing by case collide. */
  readonly caseInsensitive?: boolean;
  /** Conflict copies per file beyond which a conflict is held. Default 10. */
  readonly maxConflictCopies?: number;
}

/** Everything reconcile decides from. */
export interface ReconcileInput {
  /** Manifest records by path. */
  readonly base: ReadonlyMap<string, BaseState>;
  /** Local states; keys are ignored, each value's `path` (made NFC) is its sync path. */
  readonly local: ReadonlyMap<string, LocalState>;
  /**
   * The complete server view of the folder (every live entry). Tombstones may be included
   * and count as absent, so a view kept up to date from the change feed can be passed as is.
   */
  readonly remote: ReadonlyMap<string, Entry>;
  /** This device's name, for conflict copy names. */
  readonly device: string;
  /** Now, ms since the epoch, for conflict copy names (rendered in UTC). */
  readonly now: number;
  /**
   * Sync paths the scan could not take in (unreadable files, symlinks, special files,
   * files still being written): no operation at or below them, and they never count as
   * deleted. DESIGN.md / issue 11: per-file error isolation.
   */
  readonly held?: Iterable<string>;
  /** What the caller found at the local root. Default 'present'. */
  readonly localRoot?: LocalRootState;
  /** Paths for which this returns true are left alone in all three views. */
  readonly isIgnored?: (path: string, isDir: boolean) => boolean;
  /**
   * Deletions a person already approved (issue 11: held deletions): they neither count
   * toward the mass-delete guard nor are held by it.
   */
  readonly isExempt?: (op: DeletionOp) => boolean;
  /**
   * Deletions a held batch is waiting on (issue 11): they stay held until a person decides,
   * whatever the guard says of this plan (files that arrived since may have brought the
   * share under the limit). `force` carries them out.
   */
  readonly isPending?: (op: DeletionOp) => boolean;
  readonly options?: ReconcileOptions;
}

/** The result of reconcile: operations in execution order and what they add up to. */
export interface Plan {
  readonly ops: readonly Op[];
  readonly summary: OpCounts;
  /** Bytes the uploads (including conflict copies) and downloads would move. */
  readonly bytes: { readonly upload: number; readonly download: number };
  /** File deletions the plan wanted, both sides, before any guard removed them. */
  readonly deletions: number;
  readonly guard: Guard | null;
  /**
   * The deletions taken out of the plan to wait for a person: what a blocked mass-delete
   * guard counted, and (guard or not) those a held batch is waiting on. Both sides, files
   * and folders. Empty under `force` and when a root guard tripped.
   */
  readonly held: readonly DeletionOp[];
  readonly problems: readonly Problem[];
}
