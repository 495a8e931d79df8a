/**
 * How `fos status --why PATH` shows a path: its local state, manifest record and server
 * entry, the agent, the rule that decides it and what the next pass does. `--json` prints
 * `whyJson`'s shape (docs/cli.md), a stable contract.
 */
import type { AgentStatus } from '../agent/status-types.js';
import type { Entry } from '../protocol/types.js';
import type { WhyReport } from '../sync/why.js';
import type { BaseState } from '../sync/types.js';
import { entryJson } from './format.js';
import type { EntryJson } from './format.js';
import { formatOp } from './sync-format.js';

/** The agent as `--why` mentions it. */
export interface WhyAgent {
  readonly running: boolean;
  /** 0 when not running. */
  readonly pid: number;
  /** When the status was written (ms since the epoch), 0 when there is none. */
  readonly updatedAt: number;
}

/** The `--json` shape: the report, the server's entry as `fos list --json` prints it, and the agent. */
export type WhyJson = Omit<WhyReport, 'server'> & {
  readonly server: Omit<WhyReport['server'], 'entry'> & { readonly entry: EntryJson | null };
  readonly agent: WhyAgent;
};

/** The agent part of a status. */
export function whyAgent(status: AgentStatus | null): WhyAgent {
  return status === null ? { running: false, pid: 0, updatedAt: 0 } : { running: status.running, pid: status.running ? status.pid : 0, updatedAt: status.updatedAt };
}

/** The JSON of a report. */
export function whyJson(report: WhyReport, agent: WhyAgent): WhyJson {
  const entry = report.server.entry;
  return { ...report, server: { ...report.server, entry: entry === null ? null : entryJson(entry) }, agent };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function stateLine(state: BaseState | Entry): string {
  if (state.kind === 'dir') return `folder, rev ${state.rev}`;
  return `file, ${plural(state.size, 'byte')}, mtime ${new Date(state.mtimeMs).toISOString()}, sha256 ${state.sha256}, rev ${state.rev}`;
}

function localLine(local: WhyReport['local']): string {
  if (!local.exists) return 'absent';
  switch (local.kind) {
    case 'dir':
      return 'folder';
    case 'symlink':
      return 'symbolic link';
    case 'special':
      return 'special file (not a regular file or folder)';
    case 'file':
      break;
    default: {
      const unreachable: never = local.kind;
      return unreachable;
    }
  }
  const content =
    local.hashing === 'hashed'
      ? `sha256 ${local.sha256 ?? ''} (hashed: size or mtime differ from the manifest)`
      : local.hashing === 'unchanged'
        ? 'unchanged since the manifest (size and mtime match; not hashed)'
        : 'not hashed (the scan does not take it in)';
  return `file, ${plural(local.size, 'byte')}, mtime ${new Date(local.mtimeMs).toISOString()}, ${content}`;
}

function serverLine(server: WhyReport['server']): string {
  if (!server.reachable) return `not reachable (${server.error ?? 'unknown error'})`;
  if (server.error !== null) return `refused: ${server.error}`;
  return server.entry === null ? 'absent' : stateLine(server.entry);
}

function agentLine(agent: WhyAgent): string {
  if (agent.running) return `running (pid ${agent.pid})`;
  return agent.updatedAt === 0 ? 'not running (no status yet)' : `not running (last status ${new Date(agent.updatedAt).toISOString()})`;
}

/** The human view of a report. */
export function formatWhy(report: WhyReport, agent: WhyAgent): string {
  const where = `${report.pair.local} <-> /${report.pair.remote}`;
  const lines = [
    `${report.path}  (${where})`,
    `  local:     ${localLine(report.local)}`,
    `  manifest:  ${report.manifest === null ? 'no record' : stateLine(report.manifest)}`,
    `  server:    ${serverLine(report.server)}`,
    `  agent:     ${agentLine(agent)}`,
    `  decision:  ${report.decision.message}`,
  ];
  if (report.next === null) lines.push('  next pass: not known until the server answers');
  else if (report.next.length === 0) lines.push('  next pass: nothing');
  else lines.push('  next pass:', ...report.next.map((op) => `    ${formatOp(op)}`));
  if (report.decision.rule === 'guard' && report.decision.held.length > 0) {
    lines.push('  held back (fos sync --force would run):', ...report.decision.held.map((op) => `    ${formatOp(op)}`));
  }
  return `${lines.join('\n')}\n`;
}
