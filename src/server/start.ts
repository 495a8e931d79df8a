/**
 * The server's composition root: store, storage, logger, metrics, clock, the notice hub
 * and the login limiter are made (or taken from the caller) here and wired together; the
 * rest of the server receives them. `startServer` resolves once the port is open and the
 * `listening` line is logged.
 */
import { BlockCache } from './block-cache.js';
import type { Fs } from '../fs/fs.js';
import { createLogger } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import type { MetricsServer } from '../metrics/metrics-server.js';
import { createServerMetrics } from '../metrics/server-metrics.js';
import type { ServerMetrics } from '../metrics/server-metrics.js';
import { DEFAULT_CHUNK_BYTES, DEFAULT_WINDOW_BYTES } from '../protocol/constants.js';
import type { ByteThrottle } from '../security/byte-throttle.js';
import { LoginLimiter } from '../security/login-limiter.js';
import type { OpLimiter } from '../security/op-limiter.js';
import type { TlsOptions } from 'node:tls';
import { DEFAULT_BCRYPT_COST } from '../store/accounts.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { VERSION } from '../version.js';
import { Listener } from './listener.js';
import { DEFAULT_PART_RETENTION_MS, DEFAULT_TRASH_RETENTION_MS, Storage } from './storage.js';
import type { ServerServices } from './session-types.js';
import { systemClock } from './types.js';
import type { Clock } from './types.js';
import { createMemoryWatchHub } from './watch-hub.js';
import type { WatchHub } from './watch-hub.js';

/** The seed's address. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 12345;

/** Server defaults; every one can be set in the config file or on the command line. */
export const SERVER_DEFAULTS = Object.freeze({
  host: DEFAULT_HOST,
  port: DEFAULT_PORT,
  maxConnections: 1024,
  maxConnectionsPerIp: 256,
  authTimeoutMs: 10_000,
  idleTimeoutMs: 5 * 60_000,
  graceMs: 10_000,
  trashRetentionMs: DEFAULT_TRASH_RETENTION_MS,
  partRetentionMs: DEFAULT_PART_RETENTION_MS,
  purgeIntervalMs: 3600_000,
  chunkBytes: DEFAULT_CHUNK_BYTES,
  windowBytes: DEFAULT_WINDOW_BYTES,
  bcryptCost: DEFAULT_BCRYPT_COST,
});

/** Options of {@link startServer}; everything but `dataDir` has a default. */
export interface ServerOptions {
  readonly dataDir: string;
  readonly host?: string;
  /** 0 for an ephemeral port. */
  readonly port?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** The metadata store; SQLite in `<dataDir>/fos.db` by default. */
  readonly store?: Store;
  /** The write seam (fault injection in tests). */
  readonly fs?: Fs;
  readonly hub?: WatchHub;
  /** Metrics to update; new ones when `metricsListen` is set, none otherwise. */
  readonly metrics?: ServerMetrics;
  /** Serve `/metrics` for Prometheus on this address. */
  readonly metricsListen?: { readonly host: string; readonly port: number };
  readonly limiter?: LoginLimiter;
  /** Serve TLS with these options (src/security/server-tls.ts); plain TCP when absent. */
  readonly tls?: TlsOptions;
  readonly opLimiter?: OpLimiter;
  readonly uploadThrottle?: ByteThrottle;
  readonly downloadThrottle?: ByteThrottle;
  readonly maxConnections?: number;
  readonly maxConnectionsPerIp?: number;
  readonly authTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /** Time transfers in flight get to finish on shutdown. */
  readonly graceMs?: number;
  readonly trashRetentionMs?: number;
  readonly partRetentionMs?: number;
  readonly purgeIntervalMs?: number;
  readonly maxUploadBytes?: number;
  readonly chunkBytes?: number;
  readonly windowBytes?: number;
  readonly bcryptCost?: number;
}

/** A running server. */
export interface RunningServer {
  readonly host: string;
  readonly port: number;
  /** Port of the metrics endpoint, when one runs. */
  readonly metricsPort: number | null;
  /**
   * Stops: no new connections, shutdown notices, transfers get `graceMs` to finish, then
   * everything closes and the store with it. The same promise on every call.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Opens the store and the storage, reconciles disk and store, purges expired trash and
 * partial uploads, and listens.
 * @throws FosError from the store, the storage or the listener (`FOS_ERR_NET_CONNECT`).
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const o = { ...SERVER_DEFAULTS, ...definedOnly(options) };
  const logger = (options.logger ?? createLogger()).child({ component: 'server' });
  const clock = options.clock ?? systemClock;
  const store = options.store ?? (await openSqliteStore(options.dataDir));
  const cleanups: (() => Promise<void>)[] = [() => store.close()];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const hub = options.hub ?? createMemoryWatchHub((err) => logger.error({ err }, 'watch listener failed'));
    const storage = await Storage.open({
      dataDir: options.dataDir,
      store,
      clock,
      logger,
      hub,
      ...(options.fs === undefined ? {} : { fs: options.fs }),
      ...(options.maxUploadBytes === undefined ? {} : { maxUploadBytes: options.maxUploadBytes }),
      trashRetentionMs: o.trashRetentionMs,
      partRetentionMs: o.partRetentionMs,
    });
    await storage.reconcile();
    await purge(storage, logger);
    const metrics = options.metrics ?? (options.metricsListen === undefined ? undefined : createServerMetrics());
    let metricsServer: MetricsServer | null = null;
    if (options.metricsListen !== undefined && metrics !== undefined) {
      metricsServer = await startMetricsServer({ ...options.metricsListen, registry: metrics.registry });
      const started = metricsServer;
      cleanups.push(() => started.close());
      logger.info({ host: options.metricsListen.host, port: started.port }, 'metrics listening');
    }
    const services: ServerServices = {
      storage,
      store,
      clock,
      logger,
      hub,
      limiter: options.limiter ?? new LoginLimiter(),
      ...(options.opLimiter === undefined ? {} : { opLimiter: options.opLimiter }),
      ...(options.uploadThrottle === undefined ? {} : { uploadThrottle: options.uploadThrottle }),
      ...(options.downloadThrottle === undefined ? {} : { downloadThrottle: options.downloadThrottle }),
      metrics,
      blockCache: new BlockCache(),
      settings: Object.freeze({
        authTimeoutMs: o.authTimeoutMs,
        idleTimeoutMs: o.idleTimeoutMs,
        chunkBytes: o.chunkBytes,
        windowBytes: o.windowBytes,
        bcryptCost: o.bcryptCost,
        serverName: `fos ${VERSION}`,
      }),
    };
    const listener = await Listener.open({
      host: o.host,
      port: o.port,
      maxConnections: o.maxConnections,
      maxConnectionsPerIp: o.maxConnectionsPerIp,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      services,
    });
    const timer = setInterval(() => void purge(storage, logger), o.purgeIntervalMs);
    timer.unref();
    logger.info({ host: listener.host, port: listener.port, tls: options.tls !== undefined, dataDir: storage.layout.dataDir, version: VERSION }, 'listening');
    let closing: Promise<void> | undefined;
    return {
      host: listener.host,
      port: listener.port,
      metricsPort: metricsServer?.port ?? null,
      close(graceMs = o.graceMs) {
        closing ??= (async () => {
          clearInterval(timer);
          logger.info({ graceMs, connections: listener.connections }, 'shutting down');
          await listener.shutdown(graceMs);
          await cleanUp();
          logger.info('stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

async function purge(storage: Storage, logger: Logger): Promise<void> {
  try {
    const purged = await storage.purgeExpired();
    if (purged.trash > 0 || purged.parts > 0) logger.info(purged, 'purged expired trash and partial uploads');
  } catch (err) {
    logger.warn({ err }, 'purge failed');
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
