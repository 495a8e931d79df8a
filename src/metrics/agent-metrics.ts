/**
 * The sync agent's Prometheus metrics: what it moved, what went wrong, how far behind
 * it is. Names start with `fos_agent_` so a server and an agent can share a Prometheus.
 */
import { Counter, Gauge, Registry } from 'prom-client';

/** The metrics one agent process updates, registered in {@link AgentMetrics.registry}. */
export interface AgentMetrics {
  readonly registry: Registry;
  /** Files uploaded to the server. */
  readonly filesUploaded: Counter;
  /** Files downloaded from the server. */
  readonly filesDownloaded: Counter;
  /** File bytes uploaded. */
  readonly bytesUploaded: Counter;
  /** File bytes downloaded. */
  readonly bytesDownloaded: Counter;
  /** Deletions applied, by `side` (`local`: removed here, `remote`: removed on the server). */
  readonly deletions: Counter<'side'>;
  /** Conflicts found (both sides changed a file differently). */
  readonly conflicts: Counter;
  /** Failed operations, by FosError `code`. */
  readonly errors: Counter<'code'>;
  /** Operations waiting in the queue now. */
  readonly queueLength: Gauge;
  /** Transfers in progress now. */
  readonly activeTransfers: Gauge;
  /** Sync passes finished, by `result` (`ok`, `error`, `held` by the deletion guard). */
  readonly syncPasses: Counter<'result'>;
  /** Unix time in seconds of the last pass that finished without error. */
  readonly lastSyncTimestamp: Gauge;
}

/**
 * Creates the agent metrics in `registry` (a new one by default, never the global one).
 * @throws Error from prom-client when `registry` already holds metrics of these names.
 */
export function createAgentMetrics(registry: Registry = new Registry()): AgentMetrics {
  const registers = [registry];
  return Object.freeze({
    registry,
    filesUploaded: new Counter({ name: 'fos_agent_files_uploaded_total', help: 'Files uploaded to the server.', registers }),
    filesDownloaded: new Counter({
      name: 'fos_agent_files_downloaded_total',
      help: 'Files downloaded from the server.',
      registers,
    }),
    bytesUploaded: new Counter({ name: 'fos_agent_bytes_uploaded_total', help: 'File bytes uploaded.', registers }),
    bytesDownloaded: new Counter({ name: 'fos_agent_bytes_downloaded_total', help: 'File bytes downloaded.', registers }),
    deletions: new Counter({
      name: 'fos_agent_deletions_total',
      help: 'Deletions applied, by side (local or remote).',
      labelNames: ['side'] as const,
      registers,
    }),
    conflicts: new Counter({
      name: 'fos_agent_conflicts_total',
      help: 'Conflicts found: both sides changed a file differently.',
      registers,
    }),
    errors: new Counter({
      name: 'fos_agent_errors_total',
      help: 'Failed operations, by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    queueLength: new Gauge({ name: 'fos_agent_queue_length', help: 'Operations waiting in the queue.', registers }),
    activeTransfers: new Gauge({ name: 'fos_agent_active_transfers', help: 'Transfers in progress.', registers }),
    syncPasses: new Counter({
      name: 'fos_agent_sync_passes_total',
      help: 'Sync passes finished, by result (ok, error, held).',
      labelNames: ['result'] as const,
      registers,
    }),
    lastSyncTimestamp: new Gauge({
      name: 'fos_agent_last_sync_timestamp_seconds',
      help: 'Unix time in seconds of the last sync pass that finished without error.',
      registers,
    }),
  });
}
