/**
 * Node process metrics (CPU, memory, event loop lag, handles) next to fos's own.
 */
import { collectDefaultMetrics } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * Adds prom-client's standard process metrics (`process_cpu_seconds_total`,
 * `nodejs_eventloop_lag_seconds`, ...) to `registry`. Call once per registry.
 * @throws Error from prom-client when `registry` already holds them.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
}
