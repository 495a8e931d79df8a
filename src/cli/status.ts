/**
 * `fos status`: asks the running agent over its socket in the state folder, or reads the
 * status it last wrote: running or not, server reachable, last sync, queue, transfers in
 * progress, conflicts, errors with their next retry, guards, a degraded watcher. `--why
 * PATH` explains one path instead: its three states and the rule that decides it. `--json`
 * for scripts.
 */
import type { Command } from 'commander';
import { FosClient } from '../client/index.js';
import { queryStatus } from '../agent/status-socket.js';
import { readStatusFile, socketPath } from '../agent/status-file.js';
import type { AgentStatus, PairStatus } from '../agent/status-types.js';
import { FosError } from '../errors.js';
import { reconcileSettings } from '../agent/sync-session.js';
import { detectCaseInsensitive } from '../sync/folder-pair.js';
import { explainSyncPath, locatePath } from '../sync/why.js';
import { addProgramExample, withInterrupt } from './connect-options.js';
import { readHeldRecords } from '../sync/manifest.js';
import { formatHeld } from './format.js';
import type { CliIo } from './main.js';
import { agentConfigPath, agentConnect, loadSyncSettings, readToken } from './sync-settings.js';
import type { SyncSettings } from './sync-settings.js';
import { formatWhy, whyAgent, whyJson } from './why-format.js';

const EXAMPLES = `
Examples:
  $ fos status
  $ fos status --json
  $ fos status --why ~/Documents/report.pdf      why it syncs (or not), and what happens next
  $ fos status --why docs/notes.txt --json       a sync path, when there is one folder pair`;

interface StatusFlags {
  readonly config?: string;
  readonly json?: boolean;
  readonly why?: string;
}

/** Registers `fos status`. */
export function registerStatusCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos status --why ~/Documents/report.pdf');
  program
    .command('status')
    .description('show what the sync agent is doing (or did last)')
    .option('--config <file>', 'agent config (env FOS_AGENT_CONFIG, default ~/.config/fos/agent.json)')
    .option('--json', 'print the status as JSON')
    .option('--why <path>', 'explain one path: local, manifest and server state, the rule that applies, the next step')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: StatusFlags) => {
      const settings = await loadSyncSettings(agentConfigPath(flags.config, io.env));
      if (flags.why !== undefined) {
        await explain(settings, flags.why, flags.json === true, io);
        return;
      }
      let status = await queryStatus(socketPath(settings.stateDir));
      if (status === null) {
        const last = await readStatusFile(settings.stateDir);
        const reachable = await probeServer(settings);
        const base = last ?? { pid: 0, device: settings.device, server: settings.server, startedAt: 0, updatedAt: 0, pairs: [] };
        status = {
          ...base,
          pairs: await withHeld(settings, base.pairs),
          running: false,
          serverReachable: reachable === null,
          serverError: reachable,
        };
      }
      if (flags.json === true) io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else io.stdout.write(formatStatus(status));
    });
}

/** `--why PATH`: the agent's view (running or last written) and a read-only look at the path. */
async function explain(settings: SyncSettings, arg: string, json: boolean, io: CliIo): Promise<void> {
  const status = (await queryStatus(socketPath(settings.stateDir))) ?? (await readStatusFile(settings.stateDir));
  const located = locatePath(arg, process.cwd(), settings.folders);
  const pair = status?.pairs.find((p) => p.local === located.folder.local) ?? null;
  const caseInsensitive = located.folder.caseInsensitive ?? (await detectCaseInsensitive(located.folder.local));
  const report = await withInterrupt((signal) =>
    explainSyncPath({
      located,
      stateDir: settings.stateDir,
      device: settings.device,
      ignore: settings.ignore,
      settleMs: settings.settleMs,
      reconcile: { ...reconcileSettings(settings), caseInsensitive },
      agent: pair,
      connect: (s) => connectWithToken(settings, s),
      now: Date.now(),
      signal,
    }),
  );
  const agent = whyAgent(status);
  io.stdout.write(json ? `${JSON.stringify(whyJson(report, agent), null, 2)}\n` : formatWhy(report, agent));
}

/** Logs in with the device token, as the agent does. @throws FosError when that fails. */
async function connectWithToken(settings: SyncSettings, signal: AbortSignal): Promise<FosClient> {
  const token = await readToken(settings.tokenFile);
  const connect = await agentConnect(settings);
  return FosClient.connect(
    { address: settings.endpoint, credentials: { kind: 'token', token }, timeoutMs: 3000, ...(connect === undefined ? {} : { connect }) },
    AbortSignal.any([signal, AbortSignal.timeout(3000)]),
  );
}

/**
 * The pairs with the held batches their manifests name: `fos sync` holds deletions without
 * an agent, and the last status file may predate them. A pair with something held that
 * the status file does not list is added.
 */
async function withHeld(settings: SyncSettings, pairs: readonly PairStatus[]): Promise<PairStatus[]> {
  const out = [...pairs];
  for (const folder of settings.folders) {
    const held = (await readHeldRecords(settings.stateDir, folder.id)).map((h) => ({ side: h.side, batchId: h.id, count: h.count, bytes: h.bytes, error: null }));
    const at = out.findIndex((p) => p.local === folder.local && p.remote === folder.remote);
    const known = out[at];
    if (known !== undefined) out[at] = { ...known, held };
    else if (held.length > 0) out.push({ ...idlePair(folder.local, folder.remote), held });
  }
  return out;
}

function idlePair(local: string, remote: string): PairStatus {
  // No agent has watched this pair: nothing to report about its watcher.
  const watch = { state: 'full', reason: null, folders: 0, watchedFolders: 0, watchesNeeded: 0, limit: null, budget: null, refused: 0, unwatched: [], rescanIntervalSec: 0 } as const;
  return { local, remote, lastSyncAt: null, inSync: false, syncing: false, queue: 0, transfers: [], conflicts: [], errors: [], pending: [], guard: null, held: [], problems: [], cursor: 0, watch };
}

/** Tries to log in with the device token; null when that works, else why not. */
async function probeServer(settings: SyncSettings): Promise<string | null> {
  try {
    const client = await connectWithToken(settings, AbortSignal.timeout(3000));
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
    for (const h of pair.held ?? []) lines.push(`  ${formatHeld(h, 'status')}`);
    if (pair.guard !== null) lines.push(`  stopped: ${pair.guard.message}`);
    // A status file written by an older agent has no watch state.
    if ('watch' in pair && pair.watch.state === 'degraded') lines.push(`  watcher degraded: ${pair.watch.reason ?? 'part of the folder is not watched'}`);
  }
  return `${lines.join('\n')}\n`;
}

