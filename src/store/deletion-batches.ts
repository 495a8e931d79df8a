/**
 * Rules about held deletion batches that every Store implementation shares, so that both
 * stores filter the same way and refuse the same malformed batches with the same codes.
 */
import { FosError } from '../errors.js';
import { isCanonicalRemotePath, isInside } from '../fs/remote-path.js';
import type { DeletionBatch, DeletionItem } from '../protocol/types.js';
import type { BatchFilter } from './types.js';

/** True when `batch` matches every field `filter` sets. */
export function matchesBatchFilter(batch: DeletionBatch, filter: BatchFilter): boolean {
  if (filter.states !== undefined && !filter.states.includes(batch.state)) return false;
  if (filter.device !== undefined && batch.device !== filter.device) return false;
  if (filter.folder !== undefined && batch.folder !== filter.folder) return false;
  if (filter.side !== undefined && batch.side !== filter.side) return false;
  return true;
}

/**
 * Throws unless a batch and its items are well formed: a state of `held` (nothing
 * resolved), or `approved` for deletions that were already carried out on the server when
 * they were recorded (a restore's: side `remote` with the commit's revision); a count and
 * byte total that match the items, every item a canonical path strictly inside the
 * batch's folder, each path once.
 * @throws FosError `FOS_ERR_PATH_BAD` for a path outside the folder or not canonical,
 * `FOS_ERR_STORE_WRITE` for anything else.
 */
export function checkDeletionBatch(batch: DeletionBatch, items: readonly DeletionItem[]): void {
  const bad = (message: string): never => {
    throw new FosError('FOS_ERR_STORE_WRITE', `cannot hold batch ${batch.id}: ${message}`);
  };
  if (batch.state === 'held') {
    if (batch.resolvedAt !== null || batch.commitRev !== null) bad('a held batch is not resolved yet');
  } else if (batch.state !== 'approved' || batch.side !== 'remote' || batch.resolvedAt === null || batch.commitRev === null) {
    bad(`a new batch is held, or approved on the server side with its commit; not ${batch.state} (${batch.side})`);
  }
  if (batch.count !== items.length) bad(`count ${batch.count} but ${items.length} items`);
  const seen = new Set<string>();
  let bytes = 0;
  for (const item of items) {
    if (!isCanonicalRemotePath(item.path) || !isInside(batch.folder, item.path)) {
      throw new FosError('FOS_ERR_PATH_BAD', `${JSON.stringify(item.path)} is not a canonical path inside ${JSON.stringify(batch.folder)}`);
    }
    if (seen.has(item.path)) bad(`${JSON.stringify(item.path)} appears twice`);
    seen.add(item.path);
    if (item.kind === 'file') bytes += item.size;
  }
  if (bytes !== batch.bytes) bad(`bytes ${batch.bytes} but the files hold ${bytes}`);
}
