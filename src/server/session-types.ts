/**
 * What a session gets from the server (services and settings) and what an operation
 * handler gets from its session.
 */
import type { BlockCache } from './block-cache.js';
import type { Logger } from '../log/logger.js';
import type { ServerMetrics } from '../metrics/server-metrics.js';
import type { Store } from '../store/types.js';
import type { ByteThrottle } from '../security/byte-throttle.js';
import type { LoginLimiter } from '../security/login-limiter.js';
import type { OpLimiter } from '../security/op-limiter.js';
import type { Storage } from './storage.js';
import type { Clock } from './types.js';
import type { WatchHub } from './watch-hub.js';
import type { Wire } from './wire.js';

/** Per-connection limits and the transfer sizes the server offers. */
export interface SessionSettings {
  /** Time from connect to a successful AUTH. */
  readonly authTimeoutMs: number;
  /** Time a logged-in connection may stay silent (also the limit on a stalled transfer). */
  readonly idleTimeoutMs: number;
  /** Largest chunk the server accepts; the client may ask for less. */
  readonly chunkBytes: number;
  /** Largest window the server accepts. */
  readonly windowBytes: number;
  /** bcrypt cost of the server's hashes, so an unknown user costs as much as a known one. */
  readonly bcryptCost: number;
  /** Name and version the server reports in HELLO. */
  readonly serverName: string;
}

/** The server-wide parts every session shares. */
export interface ServerServices {
  readonly storage: Storage;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hub: WatchHub;
  readonly limiter: LoginLimiter;
  /** Operations per user per second, when limited. */
  readonly opLimiter?: OpLimiter;
  /** Upload and download bandwidth per user, when limited (transfers wait, never fail). */
  readonly uploadThrottle?: ByteThrottle;
  readonly downloadThrottle?: ByteThrottle;
  readonly metrics: ServerMetrics | undefined;
  readonly settings: SessionSettings;
  /** Delta block hashes of recently uploaded contents (BLOCKS answers from it). */
  readonly blockCache?: BlockCache;
}

/** Transfer parameters agreed in HELLO. */
export interface Negotiated {
  readonly chunkBytes: number;
  readonly windowBytes: number;
  readonly gzip: boolean;
  /** Both sides support brotli frames (HELLO `compress` holds `br`). */
  readonly brotli: boolean;
  /** Optional features both sides listed in HELLO (`FEATURE`). */
  readonly features: readonly string[];
}

/** What an operation handler works with. */
export interface OpContext {
  readonly services: ServerServices;
  readonly wire: Wire;
  readonly user: string;
  /** The id of the device token this connection logged in with, if any. */
  readonly tokenId: string | null;
  readonly negotiated: Negotiated;
  readonly log: Logger;
}

/** What a handler reports for the operation's log line. */
export interface OpResult {
  /** File bytes moved. */
  readonly bytes?: number;
  /** The wire code the operation failed with after it had started answering. */
  readonly failed?: string;
  /** The connection must close after this operation (QUIT, or a transfer broken midway). */
  readonly close?: boolean;
}

/** A running session as the listener drives it (FOS/2 or legacy). */
export interface SessionHandle {
  /** The server is stopping: tell the peer, refuse new requests, let a transfer finish. */
  onShutdown(graceMs: number): void;
  /** True while an operation (a transfer above all) is running. */
  readonly isBusy: boolean;
  /** Ends the connection (after the grace period). */
  close(): Promise<void>;
  /** Settles when the session is over and everything it held is released. */
  readonly done: Promise<void>;
}
