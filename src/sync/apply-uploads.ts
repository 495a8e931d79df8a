/**
 * Carries out many small uploads of a plan at once (issue 8): one `uploadBatch` call on a
 * pooled client, each file checked against the scan as a single upload is, and the
 * manifest updated per file that committed. Each operation gets its own outcome.
 */
import { BATCH_FILE_MAX_BYTES } from '../client/index.js';
import type { FosError } from '../errors.js';
import { remotePathOf } from './apply-op.js';
import type { OpContext, OpOutcome } from './apply-op.js';
import { localPath } from './local-fs.js';
import type { Op, UploadOp } from './types.js';

/** Most uploads one group takes: groups run side by side on the pool's connections. */
export const UPLOAD_GROUP_FILES = 128;

/** Most bytes one group takes. */
export const UPLOAD_GROUP_BYTES = 1024 * 1024;

/** An operation's outcome, or the error `applyOp` would have thrown for it. */
export type GroupResult = { readonly kind: 'outcome'; readonly outcome: OpOutcome } | { readonly kind: 'error'; readonly error: FosError };

/** True for an upload small enough to go in a group. */
export function isSmallUpload(op: Op): op is UploadOp {
  return op.kind === 'upload' && op.local.size <= BATCH_FILE_MAX_BYTES;
}

/** The small uploads of `ops` in groups (plan order kept), and the rest. */
export function groupUploads(ops: readonly Op[]): { readonly groups: UploadOp[][]; readonly others: Op[] } {
  const groups: UploadOp[][] = [];
  const others: Op[] = [];
  let current: UploadOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    if (!isSmallUpload(op)) {
      others.push(op);
      continue;
    }
    if (current.length > 0 && (current.length >= UPLOAD_GROUP_FILES || bytes + op.local.size > UPLOAD_GROUP_BYTES)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(op);
    bytes += op.local.size;
  }
  if (current.length > 0) groups.push(current);
  return { groups, others };
}

/**
 * Uploads a group; resolves to one result per operation, in order.
 * @throws FosError when the server cannot be reached (every operation of the group failed
 * the same way), or the abort error.
 */
export async function applyUploads(ops: readonly UploadOp[], ctx: OpContext): Promise<GroupResult[]> {
  for (const op of ops) ctx.onTransfer(op.path, 'upload', 0, op.local.size);
  try {
    const results = await ctx.run((c) =>
      c.uploadBatch(
        ops.map((op) => ({
          localPath: localPath(ctx.root, op.local.diskPath),
          remotePath: remotePathOf(ctx, op.path),
          baseRev: op.baseRev,
          mtimeMs: Math.floor(op.local.mtimeMs),
          expect: { size: op.local.size, mtimeMs: op.local.mtimeMs },
        })),
        { signal: ctx.signal },
      ),
    );
    return ops.map((op, i): GroupResult => {
      const result = results[i];
      if (result === undefined) return { kind: 'outcome', outcome: { kind: 'skipped', reason: 'changedLocally' } };
      if (result.kind === 'failed') {
        // As a single upload: a file that changed or went since the scan is the next round's.
        const code = result.error.code;
        if (code === 'FOS_ERR_SYNC_LOCAL_CHANGED') return { kind: 'outcome', outcome: { kind: 'skipped', reason: 'changedLocally' } };
        return { kind: 'error', error: result.error };
      }
      const { entry } = result;
      // The scan's mtime with what the server committed, as `applyOp` records an upload.
      ctx.base.set(op.path, { kind: 'file', size: entry.size, sha256: entry.sha256, mtimeMs: op.local.mtimeMs, rev: entry.rev });
      return { kind: 'outcome', outcome: { kind: 'done', uploaded: entry.size, downloaded: 0, conflict: null } };
    });
  } finally {
    for (const op of ops) ctx.onTransfer(op.path, 'upload', null, op.local.size);
  }
}
