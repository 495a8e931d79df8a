/**
 * Held deletions, the pass's side (issue 11). reconcile only reports which deletions its
 * mass-delete guard held back; this module turns them into batches on the server (one
 * per side), remembers the pending ones in the manifest so later passes neither resend
 * nor re-create them, withdraws a batch whose deletions no longer happen, and learns
 * which deletions a person approved, so the guard lets those through.
 */
import type { FosClient } from '../client/index.js';
import { FosError } from '../errors.js';
import { deletionSetKey } from '../protocol/deletion-batch.js';
import type { DeletionItem, DeletionSide } from '../protocol/types.js';
import { BATCH_STATES, DELETION_SIDES } from '../protocol/types.js';
import type { HeldReport } from './engine-types.js';
import type { FolderPair } from './folder-pair.js';
import type { HeldRecord } from './manifest.js';
import { joinPath, relativeTo } from './path-tree.js';
import type { DeletionOp } from './types.js';

/** Runs `fn` on a pooled client with retries (the pass's `run`). */
type Run = <T>(fn: (client: FosClient) => Promise<T>) => Promise<T>;

/**
 * Approved deletions by sync path: the tombstone revisions a person approved there. A
 * local deletion is exempt from the guard when its path's tombstone is one of them.
 */
export type Approvals = ReadonlyMap<string, ReadonlySet<number>>;

/** No approvals. */
export const NO_APPROVALS: Approvals = new Map();

/** What `approvalsOf` reads: approved batches with their items, as HELD lists them. */
export interface ApprovedBatch {
  readonly batch: { readonly side: DeletionSide; readonly commitRev: number | null };
  readonly items: readonly DeletionItem[];
}

/**
 * The approvals that concern a pair, from approved batches of any device. An approved
 * `remote` batch deleted its items in one commit, so their tombstones carry its revision;
 * a `local` batch names each item's tombstone revision itself. Pure.
 */
export function approvalsOf(batches: readonly ApprovedBatch[], remoteRoot: string): Approvals {
  const out = new Map<string, Set<number>>();
  for (const { batch, items } of batches) {
    for (const item of items) {
      const path = relativeTo(remoteRoot, item.path);
      const rev = batch.side === 'remote' ? batch.commitRev : item.rev;
      if (path === null || rev === null) continue;
      const revs = out.get(path) ?? new Set<number>();
      revs.add(rev);
      out.set(path, revs);
    }
  }
  return out;
}

/** The guard's exemption test for a pair: a local deletion of an approved tombstone. */
export function exemptionOf(pair: FolderPair, approvals: Approvals): (op: DeletionOp) => boolean {
  return (op) => {
    if (op.kind !== 'deleteLocal') return false;
    const rev = pair.view.tombstones.get(op.path);
    return rev !== undefined && approvals.get(op.path)?.has(rev) === true;
  };
}

/**
 * The guard's test for deletions a pending batch waits on (same path, same side), from the
 * held records of a pair's manifest. Pure.
 */
export function pendingIn(held: readonly HeldRecord[]): (op: DeletionOp) => boolean {
  const sides = new Map<string, DeletionSide>();
  for (const record of held) for (const path of record.paths) sides.set(path, record.side);
  return (op) => sides.get(op.path) === sideOf(op);
}

/**
 * Asks the server which deletions under the pair's folder were approved. A failure is
 * no approval: the deletions stay held, which is the safe side.
 * @throws the abort error only.
 */
export async function fetchApprovals(pair: FolderPair, run: Run, signal: AbortSignal): Promise<Approvals> {
  try {
    const listed = await run((c) => c.held({ folder: pair.remote, states: ['approved'], items: true }, { signal }));
    return approvalsOf(listed, pair.remote);
  } catch (err) {
    if (signal.aborted || !(err instanceof FosError)) throw err;
    return NO_APPROVALS;
  }
}

/** The held deletions of each side as batch items (server paths). */
export function heldItems(pair: FolderPair, held: readonly DeletionOp[]): Record<DeletionSide, DeletionItem[]> {
  const out: Record<DeletionSide, DeletionItem[]> = { remote: [], local: [] };
  for (const op of held) {
    const path = joinPath(pair.remote, op.path);
    if (op.kind === 'deleteRemote') {
      const entry = pair.view.entries.get(op.path);
      const isFile = op.entryKind === 'file';
      out.remote.push({ path, kind: op.entryKind, rev: op.baseRev, size: isFile ? (entry?.size ?? 0) : 0, sha256: isFile ? (entry?.sha256 ?? '') : '' });
    } else {
      const isFile = op.expect.kind === 'file';
      // The tombstone is in the view for every path the manifest knows (RemoteView keeps
      // them); 0 would only name a tombstone the view lost, which then matches nothing.
      const rev = pair.view.tombstones.get(op.path) ?? 0;
      out.local.push({ path, kind: op.expect.kind, rev, size: isFile ? op.expect.size : 0, sha256: isFile ? op.expect.sha256 : '' });
    }
  }
  return out;
}

/** What `recordHeld` needs from the pass. */
export interface RecordOptions {
  readonly run: Run;
  readonly signal: AbortSignal;
  /** Record nothing, ask nothing: report what is known. */
  readonly dryRun: boolean;
}

/**
 * Brings the server's batches in line with what a whole-folder plan held back, per side:
 * a new or changed set is held (the server supersedes the pending batch), the same set
 * as the pending batch is left alone, and a side
 * with nothing held any more withdraws its pending batch. The manifest remembers the
 * outcome. Failures are reported per side, never thrown: the deletions stay held anyway.
 * @throws the abort error only.
 */
export async function recordHeld(pair: FolderPair, held: readonly DeletionOp[], options: RecordOptions): Promise<HeldReport[]> {
  const items = heldItems(pair, held);
  const reports: HeldReport[] = [];
  for (const side of DELETION_SIDES) {
    const wanted = items[side];
    const known = pair.manifest.held.find((h) => h.side === side) ?? null;
    const bytes = wanted.reduce((n, item) => n + item.size, 0);
    const report = (batchId: string | null, error: string | null = null): HeldReport => ({ side, batchId, count: wanted.length, bytes, error });
    try {
      if (wanted.length === 0) {
        if (known !== null && !options.dryRun) {
          await options.run((c) => c.hold({ device: pair.device, folder: pair.remote, side, items: [] }, { signal: options.signal }));
          pair.manifest.setHeld(side, null);
        }
        continue;
      }
      const itemsKey = deletionSetKey(wanted);
      // `reviewHeld` dropped the record at the start of the pass unless the batch still waits.
      if (known !== null && known.itemsKey === itemsKey) {
        reports.push(report(known.id));
        continue;
      }
      if (options.dryRun) {
        reports.push(report(null));
        continue;
      }
      const reply = await options.run((c) => c.hold({ device: pair.device, folder: pair.remote, side, items: wanted }, { signal: options.signal }));
      const batch = reply.batch;
      if (batch === null) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the server held nothing');
      pair.manifest.setHeld(side, { side, id: batch.id, itemsKey, count: wanted.length, bytes, paths: held.filter((op) => sideOf(op) === side).map((op) => op.path) });
      reports.push(report(batch.id));
    } catch (err) {
      if (options.signal.aborted || !(err instanceof FosError)) throw err;
      // A withdrawal that failed is kept in the manifest and tried again next pass: a stale
      // pending batch approved later would delete files this device has again.
      if (wanted.length > 0) reports.push(report(known?.itemsKey === deletionSetKey(wanted) ? known.id : null, err.message));
    }
  }
  return reports;
}

/**
 * Asks the server how the pending batches the manifest remembers stand, at the start of a
 * pass. One still held stays remembered; any other is forgotten, so the pass holds anew
 * what it still holds back. A rejected `remote` batch also drops this device's agreement on
 * its items (where it is still the one held): the server kept them, so they are new to this
 * device again and the pass downloads them (issue 11: reject brings the files back). A
 * failure changes nothing; the next pass asks again.
 * @throws the abort error only.
 */
export async function reviewHeld(pair: FolderPair, run: Run, signal: AbortSignal): Promise<void> {
  const known = pair.manifest.held;
  if (known.length === 0) return;
  try {
    const listed = await run((c) => c.held({ ids: known.map((h) => h.id), states: BATCH_STATES }, { signal }));
    for (const record of known) {
      const state = listed.find((l) => l.batch.id === record.id)?.batch.state;
      if (state === 'held') continue;
      if (state === 'rejected' && record.side === 'remote') {
        const [rejected] = await run((c) => c.held({ ids: [record.id], states: ['rejected'], items: true }, { signal }));
        for (const item of rejected?.items ?? []) {
          const path = relativeTo(pair.remote, item.path);
          if (path !== null && pair.manifest.get(path)?.rev === item.rev) pair.manifest.delete(path);
        }
      }
      pair.manifest.setHeld(record.side, null);
    }
  } catch (err) {
    if (signal.aborted || !(err instanceof FosError)) throw err;
  }
}

/** The pending batches a pair remembers, as a pass reports them when it held nothing new. */
export function knownHeld(pair: FolderPair): HeldReport[] {
  return pair.manifest.held.map((h) => ({ side: h.side, batchId: h.id, count: h.count, bytes: h.bytes, error: null }));
}

function sideOf(op: DeletionOp): DeletionSide {
  return op.kind === 'deleteRemote' ? 'remote' : 'local';
}

