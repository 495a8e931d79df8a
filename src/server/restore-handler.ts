/**
 * RESTORE over FOS/2: a folder back to its state at a moment (storage-restore.ts). The
 * changes go out as `STEPS` batches, then `OK` with the counts and the commit's revision.
 */
import type { z } from 'zod';
import { REPLY } from '../protocol/constants.js';
import type { RequestArgs, restoreStepSchema, restoreSummarySchema } from '../protocol/messages.js';
import { sendBatches } from './batches.js';
import type { RestoreStep } from './restore-plan.js';
import type { OpContext, OpResult } from './session-types.js';

type StepJson = z.infer<typeof restoreStepSchema>;
type SummaryJson = z.infer<typeof restoreSummarySchema>;

/**
 * RESTORE. Unchanged paths are counted, not listed.
 * @throws FosError `FOS_ERR_PATH_BAD`, `FOS_ERR_PROTO_BAD_REQUEST` (a moment in the future
 * or before the trash's retention window), `FOS_ERR_PATH_EXISTS`, storage errors.
 */
export async function handleRestore(ctx: OpContext, args: RequestArgs<'RESTORE'>): Promise<OpResult> {
  const path = args.path ?? '';
  const dryRun = args.dryRun === true;
  const { plan, rev } = await ctx.services.storage.restore(ctx.user, path, args.at, { dryRun });
  const steps = plan.steps.map(stepJson);
  const count = (action: StepJson['action']): number => steps.filter((step) => step.action === action).length;
  const summary: SummaryJson = {
    path,
    at: args.at,
    dryRun,
    restored: count('restore'),
    deleted: count('delete'),
    created: count('mkdir'),
    unchanged: plan.unchanged,
    unrecoverable: count('unrecoverable'),
    rev,
  };
  await sendBatches(ctx, REPLY.steps, 'steps', steps);
  ctx.wire.sendLine(REPLY.ok, summary);
  // The operation's own log line says that it ran; this one says what it changed.
  if (!dryRun && steps.length > 0) ctx.log.info(summary, 'restored');
  return {};
}

/** A step as the wire carries it. */
function stepJson(step: RestoreStep): StepJson {
  switch (step.action) {
    case 'restore': {
      const { path, size, sha256, mtimeMs, validFrom, trashedAt } = step.version;
      return { action: 'restore', path, kind: 'file', size, sha256, mtimeMs, validFrom, trashedAt, replaces: step.replaces?.kind ?? null };
    }
    case 'delete':
      return { action: 'delete', path: step.path, kind: step.entry.kind, size: step.entry.size, sha256: step.entry.sha256 };
    case 'mkdir':
      return { action: 'mkdir', path: step.path, kind: 'dir', size: 0, sha256: '', replaces: step.replaces?.kind ?? null };
    case 'unrecoverable':
      return { action: 'unrecoverable', path: step.path, kind: 'file', size: step.version.size, sha256: step.version.sha256, reason: step.reason };
    default: {
      const never: never = step;
      return never;
    }
  }
}
