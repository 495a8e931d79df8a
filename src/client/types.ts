/**
 * Types shared by the client library: how to reach a server, how to log in, and the seams
 * (connect, clock) that tests and TLS plug into.
 */
import type { Duplex } from 'node:stream';
import type { z } from 'zod';
import type { restoreStepSchema, restoreSummarySchema } from '../protocol/messages.js';
import type { Entry } from '../protocol/types.js';

/** Where a server listens. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** How a connection logs in: a password (never stored) or a device token. */
export type Credentials =
  | { readonly kind: 'password'; readonly user: string; readonly password: string }
  | { readonly kind: 'token'; readonly token: string };

/**
 * Opens the byte stream to a server. The default is plain TCP (`connectTcp`); TLS with
 * pinning plugs in here. Must reject with FosError `FOS_ERR_NET_CONNECT` when it cannot.
 */
export type ConnectFn = (address: ServerAddress, signal: AbortSignal | undefined) => Promise<Duplex>;

/** Time, injected so that tests control timeouts and backoff. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` after `ms`; the returned function cancels it. */
  setTimer(callback: () => void, ms: number): () => void;
}

/** Everything a connection needs; `connect`, `clock` and the tunables have defaults. */
export interface ConnectionOptions {
  readonly address: ServerAddress;
  readonly credentials: Credentials;
  readonly connect?: ConnectFn;
  readonly clock?: Clock;
  /** Longest wait for the server's next message before FOS_ERR_NET_TIMEOUT (default 30 s). */
  readonly timeoutMs?: number;
  /** Chunk size offered in HELLO (default 256 KiB). */
  readonly chunkBytes?: number;
  /** Window offered in HELLO (default 4 MiB). */
  readonly windowBytes?: number;
  /** Offer gzip in HELLO (default true; transfers still choose per request). */
  readonly gzip?: boolean;
  /** Optional features offered in HELLO (default: every one this client has; [] acts as an older client). */
  readonly features?: readonly string[];
  /** Name sent in HELLO's `client` field. */
  readonly clientName?: string;
}

/** What HELLO settled for this connection. */
export interface Negotiated {
  readonly server: string;
  readonly chunkBytes: number;
  readonly windowBytes: number;
  /** Both sides support gzip. */
  readonly gzip: boolean;
  /** Both sides support brotli frames (preferred over gzip when compressing). */
  readonly brotli: boolean;
  /** Optional features both sides support (`FEATURE`); none with an older server. */
  readonly features: readonly string[];
}

/** Progress of one transfer, reported as bytes are acknowledged or written. */
export interface TransferProgress {
  /** Bytes of the file done so far, including a resumed prefix. */
  readonly bytes: number;
  /** Bytes of the whole file. */
  readonly total: number;
}

/** Called as a transfer moves; must not throw. */
export type ProgressFn = (progress: TransferProgress) => void;

/** A change notice from WATCH: the revision and the paths it touched (hints only). */
export interface Notice {
  readonly rev: number;
  readonly paths: readonly string[];
}

/** A listing or change feed and the revision it is current to (the next `since`). */
export interface Listing {
  readonly entries: readonly Entry[];
  readonly rev: number;
  /** The change feed's history mark: a new one means revisions seen before may have been reused. */
  readonly history?: string;
}

/** One change of a restore (docs/protocol.md "Restore"). */
export type RestoreStep = z.infer<typeof restoreStepSchema>;

/** What a restore did, or would do with `dryRun`: the counts, the revision and every change. */
export type RestoreReport = z.infer<typeof restoreSummarySchema> & { readonly steps: readonly RestoreStep[] };

/** A device token as issued: the secret is shown once. */
export interface IssuedToken {
  readonly token: string;
  readonly id: string;
}

/** The first bytes of a file and the entry they belong to. */
export interface Preview {
  readonly entry: Entry;
  readonly data: Buffer;
}
