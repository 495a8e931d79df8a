/**
 * `fos status --why PATH`: which rule decides a path, in words. Pure: the shell (why.ts)
 * gathers the facts with the pass's own code (round.ts, reconcile); here they are weighed
 * in a fixed order, first match wins. One more rule is one more member of `Decision`, one
 * more entry in `RULES` and one more case in `describeDecision`.
 */
import type { Entry } from '../protocol/types.js';
import type { GuardReport, PathError, PlannedOp, SkippedOp, SkipReason } from './engine-types.js';
import type { IgnoreMatch } from './ignore.js';
import { isAtOrUnder } from './path-tree.js';
import type { BaseState, GuardKind, Problem, Rule } from './types.js';

/** Everything known about one path, from the scan, the plan and the agent. */
export interface PathFacts {
  /** The sync path. */
  readonly path: string;
  /** The rule that ignores the path, or null. */
  readonly ignored: IgnoreMatch | null;
  /** Why the scan leaves the path alone (a symlink, a special file, unreadable), or null. */
  readonly scanSkip: string | null;
  /** The agent's error record for the path (it failed and waits for its retry), or null. */
  readonly error: PathError | null;
  /**
   * Why the server could not be reached, or null when it answered. Without it the remote
   * view may lag (a pass always reads the change feed first), so what depends on the
   * server is not decided.
   */
  readonly unreachable: string | null;
  /** The agent's last pass left the path for later, or null. */
  readonly pending: SkippedOp | null;
  /** When the file the path's operations send has held still long enough, if that is still ahead. */
  readonly settleAt: number | null;
  /** Problems of the plan that hold the path. */
  readonly problems: readonly Problem[];
  /** The guard of the pass, or null. */
  readonly guard: GuardReport | null;
  /** Operations on the path the guard holds back (what `--force` would add). */
  readonly heldByGuard: readonly PlannedOp[];
  /** The pending held batch the path's deletion waits in, or null. */
  readonly heldBatch: { readonly id: string; readonly side: 'local' | 'remote' } | null;
  /** The next pass's operations on the path. */
  readonly next: readonly PlannedOp[];
  readonly localExists: boolean;
  readonly base: BaseState | null;
  readonly remote: Entry | null;
  /** The conflict copy limit (`maxConflictCopies`). */
  readonly maxConflictCopies: number;
}

/** The rule that decides a path, with what it needs to be explained. */
export type Decision =
  | { readonly rule: 'ignored'; readonly pattern: string; readonly source: IgnoreMatch['source'] }
  | { readonly rule: 'unreadable'; readonly reason: string }
  | {
      readonly rule: 'error';
      readonly op: string;
      readonly code: string;
      readonly message: string;
      readonly attempts: number;
      readonly lastAt: number;
      readonly nextRetryAt: number;
    }
  | { readonly rule: 'nameCollision' | 'caseCollision'; readonly paths: readonly string[] }
  | { readonly rule: 'conflictCap'; readonly copies: number; readonly max: number }
  | { readonly rule: 'offline'; readonly error: string }
  | { readonly rule: 'guard'; readonly guard: GuardKind; readonly message: string; readonly held: readonly PlannedOp[] }
  | { readonly rule: 'heldDeletion'; readonly batchId: string; readonly side: 'local' | 'remote' }
  | { readonly rule: 'pending'; readonly reason: SkipReason; readonly settleAt: number | null }
  | { readonly rule: 'conflict'; readonly because: string; readonly copyPath: string }
  | { readonly rule: 'planned'; readonly ops: readonly PlannedOp[] }
  | { readonly rule: 'inSync'; readonly rev: number }
  | { readonly rule: 'unknown' };

type RuleCheck = (facts: PathFacts) => Decision | null;

const ignored: RuleCheck = (f) => (f.ignored === null ? null : { rule: 'ignored', pattern: f.ignored.pattern, source: f.ignored.source });

const unreadable: RuleCheck = (f) => (f.scanSkip === null ? null : { rule: 'unreadable', reason: f.scanSkip });

const failed: RuleCheck = (f) => {
  const e = f.error;
  if (e === null) return null;
  return { rule: 'error', op: e.op, code: e.code, message: e.message, attempts: e.attempts, lastAt: e.lastAt, nextRetryAt: e.nextRetryAt };
};

const problem: RuleCheck = (f) => {
  const p = f.problems[0];
  if (p === undefined) return null;
  switch (p.code) {
    case 'nameCollision':
    case 'caseCollision':
      return { rule: p.code, paths: p.paths };
    case 'conflictCap':
      return { rule: 'conflictCap', copies: p.copies, max: f.maxConflictCopies };
    default: {
      const unreachable: never = p;
      return unreachable;
    }
  }
};

/** A folder that is missing or replaced stops everything, whatever the server says. */
const rootGuard: RuleCheck = (f) => {
  const g = f.guard;
  if (g === null || !g.blocked || (g.kind !== 'rootMissing' && g.kind !== 'rootReplaced')) return null;
  return { rule: 'guard', guard: g.kind, message: g.message, held: f.heldByGuard };
};

const offline: RuleCheck = (f) => (f.unreachable === null ? null : { rule: 'offline', error: f.unreachable });

/**
 * A deletion waiting in a held batch for a person's decision (issue 11), whether or not
 * this plan would trip the guard again: a held batch never goes ahead on its own.
 */
const heldDeletion: RuleCheck = (f) => (f.heldBatch === null ? null : { rule: 'heldDeletion', batchId: f.heldBatch.id, side: f.heldBatch.side });

/** A guard on deletions decides only the paths whose operations it holds back. */
const deletionGuard: RuleCheck = (f) => {
  const g = f.guard;
  if (g === null || !g.blocked || g.kind === 'rootMissing' || g.kind === 'rootReplaced' || f.heldByGuard.length === 0) return null;
  return { rule: 'guard', guard: g.kind, message: g.message, held: f.heldByGuard };
};

const pending: RuleCheck = (f) => {
  if (f.settleAt !== null) return { rule: 'pending', reason: 'settling', settleAt: f.settleAt };
  // The agent's skip still matters only while the path has work; a stale settling skip
  // is superseded by the fresh look above.
  if (f.pending === null || f.pending.reason === 'settling' || f.next.length === 0) return null;
  return { rule: 'pending', reason: f.pending.reason, settleAt: null };
};

const conflict: RuleCheck = (f) => {
  const op = f.next.find((o) => o.kind === 'conflict' && o.path === f.path);
  return op === undefined || op.to === undefined ? null : { rule: 'conflict', because: op.rule, copyPath: op.to };
};

const planned: RuleCheck = (f) => (f.next.length === 0 ? null : { rule: 'planned', ops: f.next });

const settled: RuleCheck = (f) => {
  const rev = f.remote?.rev ?? f.base?.rev;
  return rev === undefined || (!f.localExists && f.base === null && f.remote === null) ? null : { rule: 'inSync', rev };
};

/** The rules in the order they are weighed: the first that applies decides. */
export const RULES: readonly RuleCheck[] = [ignored, unreadable, failed, rootGuard, offline, problem, heldDeletion, deletionGuard, pending, conflict, planned, settled];

/** The decision for a path: the first rule that applies, else `unknown` (nothing anywhere). */
export function explainPath(facts: PathFacts): Decision {
  for (const check of RULES) {
    const decision = check(facts);
    if (decision !== null) return decision;
  }
  return { rule: 'unknown' };
}

/** True when an operation concerns `path`: at it, or moving or removing a folder above it. */
export function touchesPath(op: PlannedOp, path: string): boolean {
  if (op.path === path || op.to === path) return true;
  const wholeFolder = op.kind === 'moveRemote' || op.kind === 'moveLocal' || op.kind === 'deleteRemote' || op.kind === 'deleteLocal';
  return wholeFolder && op.entryKind === 'dir' && (isAtOrUnder(path, op.path) || (op.to !== undefined && isAtOrUnder(path, op.to)));
}

/** True when a problem holds `path`: it is, or lies under, one of the names involved. */
export function problemHolds(p: Problem, path: string): boolean {
  const names = p.code === 'conflictCap' ? [p.path] : [p.path, ...p.paths.map((n) => n.normalize('NFC'))];
  return names.some((name) => isAtOrUnder(path, name));
}

/** What each reconcile rule means, for people. */
export const RULE_TEXT: Readonly<Record<Rule, string>> = {
  localNew: 'new here, not on the server yet',
  remoteNew: 'new on the server, not here yet',
  localChanged: 'changed here since the last sync; the server still has the synced version',
  remoteChanged: 'changed on the server since the last sync; the version here is still the synced one',
  localDeleted: "deleted here, unchanged on the server: deleted there too (the server's trash keeps it)",
  remoteDeleted: 'deleted on the server, unchanged here: deleted here too (the local trash keeps it)',
  bothDeleted: 'deleted on both sides: only the manifest record goes',
  localDeletedRemoteChanged: 'deleted here but changed on the server: the change wins and comes back',
  remoteDeletedLocalChanged: 'deleted on the server but changed here: the change wins and goes back up',
  sameContent: 'both sides hold the same content: only the manifest is updated',
  metadataOnly: 'same content, newer mtime or revision: only the manifest is updated',
  bothChanged: 'changed on both sides since the last sync',
  bothNew: 'created on both sides with different content',
  kindMismatch: 'a file on one side, a folder on the other',
  localMoved: 'renamed or moved here: moved on the server too',
  remoteMoved: 'renamed or moved on the server: moved here too',
  conflictAlreadyCopied: "changed on both sides, and this version is already kept as a conflict copy: the server's version takes the name",
  duplicateCopy: 'a conflict copy whose content an earlier copy of the same file already keeps (several devices copied one conflict at once): it goes to the trash on both sides',
  keptForChildren: 'deleted on one side, but something inside it survives: the folder is recreated',
};

const SKIP_TEXT: Readonly<Record<SkipReason, string>> = {
  changedLocally: 'it changed here while the last pass worked on it',
  appearedLocally: 'something appeared here at a path the last pass needed free',
  notEmpty: 'the folder to remove still holds files that are not ignored',
  settling: 'the file is still being written',
  backingOff: 'it failed before and waits for its next retry',
  staleRemote: 'someone changed it on the server while the last pass worked on it',
};

const SOURCE_TEXT: Readonly<Record<IgnoreMatch['source'], string>> = {
  fos: "fos's own files, never synced",
  default: 'a default rule',
  config: 'the config\'s "ignore" list',
  '.fosignore': 'the folder\'s .fosignore',
};

function when(ms: number): string {
  return new Date(ms).toISOString();
}

function ruleText(rule: string): string {
  return rule in RULE_TEXT ? RULE_TEXT[rule as Rule] : rule;
}

/** The decision in one sentence. */
export function describeDecision(d: Decision): string {
  switch (d.rule) {
    case 'ignored':
      return `ignored: matches ${JSON.stringify(d.pattern)} (${SOURCE_TEXT[d.source]}); never synced either way`;
    case 'unreadable':
      return `left alone: ${d.reason}; nothing at or below it syncs until that changes`;
    case 'error':
      return `error: ${d.op} failed ${d.attempts} ${d.attempts === 1 ? 'time' : 'times'}: ${d.message} (${d.code}); next retry ${when(d.nextRetryAt)}`;
    case 'nameCollision':
      return `name collision: ${d.paths.join(', ')} are one name on this folder; none of them syncs until all but one are renamed`;
    case 'caseCollision':
      return `case collision: ${d.paths.join(', ')} differ only by case, which this folder cannot hold apart; none of them syncs until one is renamed`;
    case 'conflictCap':
      return `conflict held: ${d.copies === 1 ? '1 conflict copy exists' : `${d.copies} conflict copies exist`} (maxConflictCopies ${d.max}); both versions stay where they are until copies are cleaned up`;
    case 'offline':
      return `server not reachable (${d.error}): what the next pass does with it is decided once the server answers`;
    case 'guard':
      return `stopped by the ${d.guard} guard: ${d.message}`;
    case 'heldDeletion':
      return `deletion held in batch ${d.batchId}: ${d.side === 'remote' ? 'deleted here, kept on the server' : 'deleted on the server, kept here'} until a person decides; \`fos deletions approve ${d.batchId}\` deletes it, \`fos deletions reject ${d.batchId}\` brings it back`;
    case 'pending':
      return d.settleAt === null
        ? `pending: ${SKIP_TEXT[d.reason]}; the next pass tries again`
        : `pending: ${SKIP_TEXT[d.reason]}; it syncs once its size and mtime hold still (${when(d.settleAt)})`;
    case 'conflict':
      return `conflict: ${ruleText(d.because)}; both versions are kept, one under the name and the other as ${JSON.stringify(d.copyPath)}, on both sides`;
    case 'planned':
      return `${d.ops.map((op) => `${op.kind} (${op.rule})`).join(', ')}: ${ruleText(d.ops[0]?.rule ?? '')}`;
    case 'inSync':
      return `in sync: here, the manifest and the server agree (revision ${d.rev}); nothing to do`;
    case 'unknown':
      return 'unknown: nothing at this path here, in the manifest or on the server';
    default: {
      const unreachable: never = d;
      return unreachable;
    }
  }
}
