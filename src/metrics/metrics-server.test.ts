import { request } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMetrics } from './agent-metrics.js';
import { startMetricsServer } from './metrics-server.js';
import type { MetricsServer } from './metrics-server.js';
import { collectProcessMetrics } from './process-metrics.js';
import { createServerMetrics } from './server-metrics.js';

const open: MetricsServer[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

async function start(registry: Registry): Promise<MetricsServer> {
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry });
  open.push(server);
  return server;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one sample line, e.g. `fos_operations_total{op="upload",result="ok"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('server metrics over HTTP', () => {
  it('serves counters, gauges and histograms that move as the server works', async () => {
    const metrics = createServerMetrics();
    const server = await start(metrics.registry);
    expect(server.port).toBeGreaterThan(0);

    const before = await scrape(server.port);
    expect(sample(before, 'fos_connections_total')).toBe(0);
    expect(before).toContain('# TYPE fos_operation_seconds histogram');

    metrics.connectionsTotal.inc();
    metrics.connectionsTotal.inc();
    metrics.connections.inc(2);
    metrics.connections.dec();
    metrics.bytesIn.inc(4096);
    metrics.bytesOut.inc(10);
    metrics.failedLogins.inc();
    metrics.activeTransfers.set(3);
    metrics.observeOperation('upload', 'ok', 0.02);
    metrics.observeOperation('upload', 'ok', 2);
    metrics.observeOperation('delete', 'CONFLICT', 0.001);

    const after = await scrape(server.port);
    expect(sample(after, 'fos_connections')).toBe(1);
    expect(sample(after, 'fos_connections_total')).toBe(2);
    expect(sample(after, 'fos_bytes_in_total')).toBe(4096);
    expect(sample(after, 'fos_bytes_out_total')).toBe(10);
    expect(sample(after, 'fos_failed_logins_total')).toBe(1);
    expect(sample(after, 'fos_active_transfers')).toBe(3);
    expect(sample(after, 'fos_operations_total{op="upload",result="ok"}')).toBe(2);
    expect(sample(after, 'fos_operations_total{op="delete",result="CONFLICT"}')).toBe(1);
    expect(sample(after, 'fos_operation_seconds_count{op="upload"}')).toBe(2);
    expect(sample(after, 'fos_operation_seconds_bucket{le="0.025",op="upload"}')).toBe(1);
    expect(sample(after, 'fos_operation_seconds_sum{op="upload"}')).toBeCloseTo(2.02);
  });

  it('answers /healthz, 404 elsewhere and 405 for other methods', async () => {
    const server = await start(createServerMetrics().registry);
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('keeps registries apart: two servers in one process', async () => {
    const a = createServerMetrics();
    const b = createServerMetrics();
    a.bytesIn.inc(5);
    const [sa, sb] = await Promise.all([start(a.registry), start(b.registry)]);
    expect(sample(await scrape(sa.port), 'fos_bytes_in_total')).toBe(5);
    expect(sample(await scrape(sb.port), 'fos_bytes_in_total')).toBe(0);
  });

  it('close is idempotent and also ends keep-alive connections', async () => {
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: new Registry() });
    // a keep-alive request leaves its socket open after the response
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/healthz', agent: false, headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });

  it('refuses a port in use with FOS_ERR_NET_CONNECT', async () => {
    const first = await start(new Registry());
    await expect(startMetricsServer({ host: '127.0.0.1', port: first.port, registry: new Registry() })).rejects.toMatchObject({
      code: 'FOS_ERR_NET_CONNECT',
    });
  });

  it('adds process metrics beside fos metrics when asked', async () => {
    const metrics = createServerMetrics();
    collectProcessMetrics(metrics.registry);
    const server = await start(metrics.registry);
    const text = await scrape(server.port);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('fos_connections');
  });
});

describe('agent metrics', () => {
  it('exposes every agent series', async () => {
    const metrics = createAgentMetrics();
    metrics.filesUploaded.inc();
    metrics.filesDownloaded.inc(2);
    metrics.bytesUploaded.inc(100);
    metrics.bytesDownloaded.inc(200);
    metrics.deletions.inc({ side: 'remote' });
    metrics.conflicts.inc();
    metrics.errors.inc({ code: 'FOS_ERR_NET_CLOSED' });
    metrics.queueLength.set(7);
    metrics.activeTransfers.set(1);
    metrics.syncPasses.inc({ result: 'ok' });
    metrics.lastSyncTimestamp.set(1_700_000_000);
    const server = await start(metrics.registry);
    const text = await scrape(server.port);
    expect(sample(text, 'fos_agent_files_uploaded_total')).toBe(1);
    expect(sample(text, 'fos_agent_files_downloaded_total')).toBe(2);
    expect(sample(text, 'fos_agent_bytes_uploaded_total')).toBe(100);
    expect(sample(text, 'fos_agent_bytes_downloaded_total')).toBe(200);
    expect(sample(text, 'fos_agent_deletions_total{side="remote"}')).toBe(1);
    expect(sample(text, 'fos_agent_conflicts_total')).toBe(1);
    expect(sample(text, 'fos_agent_errors_total{code="FOS_ERR_NET_CLOSED"}')).toBe(1);
    expect(sample(text, 'fos_agent_queue_length')).toBe(7);
    expect(sample(text, 'fos_agent_active_transfers')).toBe(1);
    expect(sample(text, 'fos_agent_sync_passes_total{result="ok"}')).toBe(1);
    expect(sample(text, 'fos_agent_last_sync_timestamp_seconds')).toBe(1_700_000_000);
  });
});
