/**
 * `fos status`: asks the running agent over its socket in the state folder, or reads the
 * status it last wrote: running or not, server reachable, last sync, queue, transfers in
 * progress, conflicts, errors with their next retry, guards. `--json` for scripts.
 */
import type { Command } from 'commander';
import { FosClient } from '../client/index.js';
import { queryStatus } from '../agent/status-socket.js';
import { readStatusFile, socketPath } from '../agent/status-file.js';
import type { AgentStatus } from '../agent/status-types.js';
import { FosError } from '../errors.js';
import type { CliIo } from './main.js';
import { agentConfigPath, loadSyncSettings, readToken } from './sync-settings.js';

interface StatusFlags {
  readonly config?: string;
  readonly json?: boolean;
}

/** Registers `fos status`. */
export function registerStatusCommand(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('show what the sync agent is doing (or did last)')
    .option('--config <file>', 'agent config (env FOS_AGENT_CONFIG, default ~/.config/fos/agent.json)')
    .option('--json', 'print the status as JSON')
    .action(async (flags: StatusFlags) => {
      const settings = await loadSyncSettings(agentConfigPath(flags.config, io.env));
      let status = await queryStatus(socketPath(settings.stateDir));
      if (status === null) {
        const last = await readStatusFile(settings.stateDir);
        const reachable = await probeServer(settings.endpoint, settings.tokenFile);
        status = {
          ...(last ?? { pid: 0, device: settings.device, server: settings.server, startedAt: 0, updatedAt: 0, pairs: [] }),
          running: false,
          serverReachable: reachable === null,
          serverError: reachable,
        };
      }
      if (flags.json === true) io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else io.stdout.write(formatStatus(status));
    });
}

/** Tries to log in with the device token; null when that works, else why not. */
async function probeServer(address: { host: string; port: number }, tokenFile: string): Promise<string | null> {
  try {
    const token = await readToken(tokenFile);
    const client = await FosClient.connect({ address, credentials: { kind: 'token', token }, timeoutMs: 3000 }, AbortSignal.timeout(3000));
    await client.quit();
    return null;
  } catch (err) {
    return err instanceof FosError ? err.message : String(err);
  }
}

function when(ms: number | null): string {
  return ms === null || ms === 0 ? 'never' : new Date(ms).toISOString();
}

/** The human view of a status. */
export function formatStatus(status: AgentStatus): string {
  const lines = [
    `agent: ${status.running ? `running (pid ${status.pid})` : 'not running'}${status.running ? '' : `, last status ${when(status.updatedAt)}`}`,
    `server: ${status.server} ${status.serverReachable ? 'reachable' : `not reachable${status.serverError === null ? '' : ` (${status.serverError})`}`}`,
  ];
  for (const pair of status.pairs) {
    lines.push(`${pair.local} <-> /${pair.remote}: ${pair.inSync ? 'in sync' : pair.syncing ? 'syncing' : 'pending'}, last sync ${when(pair.lastSyncAt)}, queue ${pair.queue}`);
    for (const t of pair.transfers) lines.push(`  ${t.direction} ${t.path}: ${t.bytes} of ${t.total} bytes`);
    for (const c of pair.conflicts) lines.push(`  conflict: ${c.path} (other version: ${c.copyPath})`);
    for (const e of pair.errors) lines.push(`  error: ${e.path}: ${e.message}; next retry ${when(e.nextRetryAt)}`);
    if (pair.guard !== null) lines.push(`  stopped: ${pair.guard.message}`);
  }
  return `${lines.join('\n')}\n`;
}
