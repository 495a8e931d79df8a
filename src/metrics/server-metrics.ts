/**
 * The server's Prometheus metrics (DESIGN.md "Observability"): connections, bytes,
 * operations by type and result, operation latency, failed logins, active transfers.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WireCode } from '../errors.js';

/** The `result` label of an operation: `ok`, or the wire code it failed with. */
export type OperationResult = 'ok' | WireCode;

/** Latency buckets in seconds: a LIST on a warm cache up to a large transfer. */
export const OPERATION_SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]);

/** The metrics one server process updates, registered in {@link ServerMetrics.registry}. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Connections open now. */
  readonly connections: Gauge;
  /** Connections accepted since start. */
  readonly connectionsTotal: Counter;
  /** File bytes received from clients. */
  readonly bytesIn: Counter;
  /** File bytes sent to clients. */
  readonly bytesOut: Counter;
  /** Finished operations by `op` (upload, download, list, ...) and `result`. */
  readonly operations: Counter<'op' | 'result'>;
  /** Operation duration by `op`, in seconds. */
  readonly operationSeconds: Histogram<'op'>;
  /** Logins refused (wrong user or password, or rate limited). */
  readonly failedLogins: Counter;
  /** Uploads and downloads in progress now. */
  readonly activeTransfers: Gauge;
  /** Counts one finished operation and its duration. */
  observeOperation(op: string, result: OperationResult, seconds: number): void;
}

/**
 * Creates the server metrics in `registry` (a new one by default: never prom-client's
 * global registry, so several servers can live in one process, as tests do).
 * @throws Error from prom-client when `registry` already holds metrics of these names.
 */
export function createServerMetrics(registry: Registry = new Registry()): ServerMetrics {
  const registers = [registry];
  const operations = new Counter({
    name: 'fos_operations_total',
    help: 'Operations finished, by operation and result (ok or the wire error code).',
    labelNames: ['op', 'result'] as const,
    registers,
  });
  const operationSeconds = new Histogram({
    name: 'fos_operation_seconds',
    help: 'Operation duration in seconds, by operation.',
    labelNames: ['op'] as const,
    buckets: [...OPERATION_SECONDS_BUCKETS],
    registers,
  });
  return Object.freeze({
    registry,
    connections: new Gauge({ name: 'fos_connections', help: 'Client connections open now.', registers }),
    connectionsTotal: new Counter({
      name: 'fos_connections_total',
      help: 'Client connections accepted since the server started.',
      registers,
    }),
    bytesIn: new Counter({ name: 'fos_bytes_in_total', help: 'File bytes received from clients.', registers }),
    bytesOut: new Counter({ name: 'fos_bytes_out_total', help: 'File bytes sent to clients.', registers }),
    operations,
    operationSeconds,
    failedLogins: new Counter({
      name: 'fos_failed_logins_total',
      help: 'Logins refused: unknown user, wrong password or rate limited.',
      registers,
    }),
    activeTransfers: new Gauge({
      name: 'fos_active_transfers',
      help: 'Uploads and downloads in progress now.',
      registers,
    }),
    observeOperation(op: string, result: OperationResult, seconds: number): void {
      operations.inc({ op, result });
      operationSeconds.observe({ op }, seconds);
    },
  });
}
