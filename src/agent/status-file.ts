/**
 * The status file, `<stateDir>/status.json`: what the agent last knew, written atomically
 * (at most once a second while it runs, and when it stops), so `fos status` has an answer
 * when no agent is running.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { AgentStatus } from './status-types.js';

/** The status file of a state folder. */
export function statusFilePath(stateDir: string): string {
  return join(stateDir, 'status.json');
}

/** The agent's socket in a state folder. */
export function socketPath(stateDir: string): string {
  return join(stateDir, 'agent.sock');
}

/** Writes the status atomically. @throws FosError when the state folder cannot be written. */
export async function writeStatusFile(stateDir: string, status: AgentStatus): Promise<void> {
  await writeFileAtomic(statusFilePath(stateDir), `${JSON.stringify(status)}\n`);
}

/** Reads the last written status, or null when there is none or it does not parse. */
export async function readStatusFile(stateDir: string): Promise<AgentStatus | null> {
  try {
    const value: unknown = JSON.parse(await readFile(statusFilePath(stateDir), 'utf8'));
    if (typeof value !== 'object' || value === null || !Array.isArray((value as { pairs?: unknown }).pairs)) return null;
    return value as AgentStatus;
  } catch (err) {
    // Missing (never ran) or torn by hand: there is no last status to show.
    if (errnoCode(err) === 'ENOENT') return null;
    return null;
  }
}
