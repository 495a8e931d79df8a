/**
 * How `fos sync` shows a pass to people: the plan (one line per operation, then the
 * totals), what a pass did, and why it stopped. `fos status --why` lists operations the
 * same way. The `--json` shapes are the reports themselves (docs/cli.md).
 */
import type { LimitStop, PassReport, PlannedOp, PlanTotals } from '../sync/engine-types.js';
import { OP_KINDS } from '../sync/types.js';
import { formatBytes, formatHeld } from './format.js';

/** One operation: kind, path, target, and in brackets the rule and the bytes it moves. */
export function formatOp(op: PlannedOp): string {
  const to = op.to === undefined ? '' : ` -> ${op.to}`;
  const bytes = op.bytes === undefined ? '' : `, ${formatBytes(op.bytes)}`;
  return `${op.kind.padEnd(12)} ${op.path}${to}  (${op.rule}${bytes})`;
}

/** `upload 2, deleteLocal 1; 1.5 MiB up, 0 B down, 1 deletion`. */
export function formatTotals(totals: PlanTotals): string {
  const kinds = OP_KINDS.filter((kind) => totals.byKind[kind] > 0).map((kind) => `${kind} ${totals.byKind[kind]}`);
  const deletions = `${totals.deletions} ${totals.deletions === 1 ? 'deletion' : 'deletions'}`;
  const bytes = `${formatBytes(totals.bytesUp)} up, ${formatBytes(totals.bytesDown)} down, ${deletions}`;
  return kinds.length === 0 ? bytes : `${kinds.join(', ')}; ${bytes}`;
}

/** Why a limit stopped a pass. */
export function formatLimit(limit: LimitStop): string {
  switch (limit.kind) {
    case 'maxOps':
      return `the plan has ${limit.planned} operations, more than --max-ops ${limit.limit}; nothing was changed`;
    case 'maxBytes':
      return `the plan moves ${formatBytes(limit.planned)} (${limit.planned} bytes), more than --max-bytes ${formatBytes(limit.limit)}; nothing was changed`;
    default: {
      const unreachable: never = limit.kind;
      return unreachable;
    }
  }
}

/** The human summary of one pass (or plan). */
export function formatReport(report: PassReport): string {
  const lines: string[] = [];
  const where = `${report.local} <-> ${report.remote === '' ? '/' : `/${report.remote}`}`;
  if (report.limit !== null) {
    lines.push(`${where}: stopped: ${formatLimit(report.limit)}`);
    lines.push(`  totals: ${formatTotals(report.totals)}`);
  } else if (report.dryRun) {
    const changing = report.totals.operations;
    const manifestOnly = report.planned.length - changing;
    const counted = `${changing} ${changing === 1 ? 'operation' : 'operations'}${manifestOnly > 0 ? ` and ${manifestOnly} manifest ${manifestOnly === 1 ? 'update' : 'updates'}` : ''}`;
    lines.push(`${where}: ${report.planned.length === 0 ? 'nothing to do' : `plan: ${counted}`}`);
    for (const op of report.planned) lines.push(`  ${formatOp(op)}`);
    if (report.planned.length > 0) lines.push(`  totals: ${formatTotals(report.totals)}`);
    for (const s of report.execution.skipped) lines.push(`  later: ${s.path} (${s.reason})`);
  } else {
    const d = report.execution.done;
    const parts = [
      `${d.upload} uploaded`,
      `${d.download} downloaded`,
      `${d.deleteRemote + d.deleteLocal} deleted`,
      `${d.moveRemote + d.moveLocal} moved`,
      `${report.execution.conflicts.length} conflict copies`,
    ];
    lines.push(`${where}: ${report.inSync ? 'in sync' : 'not fully in sync'} (${parts.join(', ')})`);
    for (const c of report.execution.conflicts) lines.push(`  conflict: ${c.path}: the other version is kept as ${c.copyPath}`);
    for (const f of report.execution.failed) lines.push(`  error: ${f.path}: ${f.message} (${f.code}); next try ${new Date(f.nextRetryAt).toISOString()}`);
    for (const s of report.execution.skipped) lines.push(`  later: ${s.path} (${s.reason})`);
    if (report.execution.offline) lines.push('  the server could not be reached; run again later');
  }
  for (const h of report.held) lines.push(`  ${formatHeld(h, 'sync')}`);
  if (report.guard !== null) lines.push(`  stopped: ${report.guard.message}`);
  for (const p of report.problems) lines.push(`  held: ${p.path} (${p.code})`);
  return `${lines.join('\n')}\n`;
}
