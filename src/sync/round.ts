/**
 * One round of a pass up to its plan: catch up with the server's change feed, scan the
 * scope, reconcile it with the manifest and the remote view, and set aside the operations
 * whose local file is still being written. Nothing here changes either side or the state
 * folder (the remote view moves on in memory only), so a pass, a plan (`fos sync --plan`)
 * and `fos status --why` decide with the same code.
 */
import type { FosClient } from '../client/index.js';
import type { SkippedOp } from './engine-types.js';
import type { FolderPair } from './folder-pair.js';
import { opPath } from './order.js';
import { isAtOrUnder } from './path-tree.js';
import { reconcile } from './reconcile.js';
import { FOS_DIR } from './root-identity.js';
import { restrict, scanScope } from './scope.js';
import type { ScanSkip } from './scope.js';
import type { DeletionOp, LocalState, Op, Plan, ReconcileInput, ReconcileOptions } from './types.js';

/** What a round reads of a folder pair. A FolderPair is one; `fos status --why` builds a read-only one. */
export type RoundSource = Pick<FolderPair, 'local' | 'device' | 'view' | 'settle' | 'isIgnored'> & {
  readonly manifest: Pick<FolderPair['manifest'], 'records'>;
};

/** What reading the change feed did to the view. */
export interface CatchUp {
  /** Sync paths the feed named. */
  readonly touched: readonly string[];
  /** The server's history went back and the view was rebuilt from revision 0. */
  readonly reset: boolean;
}

/**
 * Reads the change feed since the view's cursor into the view (in memory).
 * @throws FosError when the server cannot be reached; the abort error.
 */
export async function catchUp(
  pair: Pick<RoundSource, 'view'>,
  run: <T>(fn: (client: FosClient) => Promise<T>) => Promise<T>,
  signal: AbortSignal,
  onHistoryReset?: (serverRev: number, cursor: number) => void,
): Promise<CatchUp> {
  const view = pair.view;
  await view.ensureLoaded();
  const feed = (since: number) => run((c) => c.changesSince(since, { ...(view.feedPath === undefined ? {} : { path: view.feedPath }), signal }));
  let listing = await feed(view.cursor);
  let reset = false;
  if (listing.rev < view.cursor || view.isOtherHistory(listing)) {
    // The server's history went back: the revisions this pair saw after listing.rev were
    // lost there, and changes made since reuse their numbers, so the feed from our cursor
    // would hide them for good. The revision shows it until it climbs back to the cursor;
    // the history mark shows it after that too. Rebuild the view from the whole feed;
    // reconcile compares content, so equal files are re-recorded and nothing is deleted for it.
    onHistoryReset?.(listing.rev, view.cursor);
    view.reset();
    listing = await feed(0);
    reset = true;
  }
  return { touched: view.apply(listing), reset };
}

/** One round's look at a scope and what reconcile made of it. */
export interface Round {
  readonly plan: Plan;
  /** Reconcile's input, for a second look under other options (`--why`: what force would do). */
  readonly input: ReconcileInput;
  /** The scan's states by their names on disk (`path` in each is the NFC sync path). */
  readonly local: ReadonlyMap<string, LocalState>;
  /** Paths the scan left alone (symlinks, special files, unreadable): no operation touches them. */
  readonly skipped: readonly ScanSkip[];
}

/** Options of `planRound`. */
export interface RoundOptions {
  readonly now: number;
  readonly reconcile: ReconcileOptions;
  readonly signal: AbortSignal;
  /** Deletions a person approved (held deletions, issue 11): exempt from the guard. */
  readonly isExempt?: (op: DeletionOp) => boolean;
  /** Deletions a held batch waits on: they stay held (issue 11). */
  readonly isPending?: (op: DeletionOp) => boolean;
}

/**
 * Scans `scope` and reconciles it with the manifest and the remote view.
 * @throws FosError `FOS_ERR_SYNC_LOCAL_IO` when the root cannot be read; the abort error.
 */
export async function planRound(pair: RoundSource, scope: readonly string[], options: RoundOptions): Promise<Round> {
  // The scan and reconcile ask about the same paths up to four times (scan, base, remote,
  // local): the rules are matched once per path and round (issue 8: a no-op pass).
  const isIgnoredByRules = memoize(pair.isIgnored);
  const scanned = await scanScope(pair.local, scope, pair.manifest.records, { isIgnored: isIgnoredByRules, signal: options.signal });
  const held = scanned.skipped.map((s) => s.path);
  const isIgnored = (path: string, isDir: boolean): boolean =>
    isAtOrUnder(path, FOS_DIR) || isIgnoredByRules(path, isDir) || (held.length > 0 && held.some((h) => isAtOrUnder(path, h)));
  const input: ReconcileInput = {
    base: restrict(pair.manifest.records, scope),
    local: scanned.local,
    remote: restrict(pair.view.entries, scope),
    device: pair.device,
    now: options.now,
    localRoot: 'present',
    isIgnored,
    ...(options.isExempt === undefined ? {} : { isExempt: options.isExempt }),
    ...(options.isPending === undefined ? {} : { isPending: options.isPending }),
    options: options.reconcile,
  };
  return { plan: reconcile(input), input, local: scanned.local, skipped: scanned.skipped };
}

/** `isIgnored` with each answer kept for the round. */
function memoize(isIgnored: (path: string, isDir: boolean) => boolean): (path: string, isDir: boolean) => boolean {
  const files = new Map<string, boolean>();
  const dirs = new Map<string, boolean>();
  return (path, isDir) => {
    const known = isDir ? dirs : files;
    let answer = known.get(path);
    if (answer === undefined) {
      answer = isIgnored(path, isDir);
      known.set(path, answer);
    }
    return answer;
  };
}

/** A plan's operations split into those that can run now and those waiting for a file to settle. */
export interface SettleSplit {
  readonly ready: readonly Op[];
  readonly settling: readonly SkippedOp[];
  /** The earliest time a settling file is due, or null. */
  readonly settleAt: number | null;
}

/** Sets aside the operations that send a local file still being written (DESIGN.md: uploaded once it holds still). */
export function splitSettling(ops: readonly Op[], settle: FolderPair['settle'], now: number): SettleSplit {
  const ready: Op[] = [];
  const settling: SkippedOp[] = [];
  let settleAt: number | null = null;
  for (const op of ops) {
    const local = uploadedState(op);
    const at = local === null ? now : settle.settledAt(local, now);
    if (at > now) {
      settling.push({ path: opPath(op), kind: op.kind, reason: 'settling' });
      settleAt = settleAt === null ? at : Math.min(settleAt, at);
    } else {
      ready.push(op);
    }
  }
  return { ready, settling, settleAt };
}

/** The local file an operation sends to the server, which must have settled first. */
function uploadedState(op: Op): LocalState | null {
  if (op.kind === 'upload') return op.local;
  if (op.kind === 'conflict' && op.loser === 'local') return op.local;
  return null;
}
