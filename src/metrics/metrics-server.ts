/**
 * A small HTTP endpoint for Prometheus: `GET /metrics` (text exposition format) and
 * `GET /healthz`. One per process component, each over its own registry.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { FosError } from '../errors.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Address to listen on; keep it on loopback or a private network (no authentication). */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  readonly registry: Registry;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The port it listens on (the real one when 0 was asked). */
  readonly port: number;
  /** Stops listening and closes open connections; the same promise on every call. */
  close(): Promise<void>;
}

/**
 * Starts the endpoint and resolves once it listens.
 * @throws FosError `FOS_ERR_NET_CONNECT` when the address cannot be listened on.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    respond(req, res, options.registry).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        new FosError('FOS_ERR_NET_CONNECT', `cannot listen for metrics on ${options.host}:${options.port}: ${err.message}`, {
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        // A scraper's keep-alive connection would hold close() open; end it now.
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function respond(req: IncomingMessage, res: ServerResponse, registry: Registry): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
    return;
  }
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType });
  res.end(req.method === 'HEAD' ? undefined : body);
}
