/**
 * FosError and the one table of error codes: internal code, wire code, CLI exit code.
 *
 * Every failure fos reports carries a stable code. Internal codes are
 * `FOS_ERR_<AREA>_<WHAT>`; the wire carries the short code (`NOT_FOUND`), never a stack.
 * `toWireCode` / `fromWireCode` are the only mapping between the two.
 */

/** Short codes that travel on the wire in `ERR` replies (docs/protocol.md). */
export const WIRE_CODES = [
  'AUTH_FAILED',
  'NOT_FOUND',
  'CONFLICT',
  'BAD_PATH',
  'QUOTA',
  'TOO_LARGE',
  'RATE_LIMITED',
  'BAD_REQUEST',
  'SHUTTING_DOWN',
  'INTERNAL',
  'CHECKSUM',
  'EXISTS',
  'TIMEOUT',
  'UNSUPPORTED',
  'HELD',
] as const;

export type WireCode = (typeof WIRE_CODES)[number];

/** CLI exit codes, the same for every command (docs/cli.md). */
export const EXIT = {
  ok: 0,
  other: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  connection: 6,
  guard: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface CodeInfo {
  readonly wire: WireCode;
  readonly exit: ExitCode;
}

/** The code table. A released code never changes meaning. */
export const CODES = {
  // protocol
  FOS_ERR_PROTO_BAD_REQUEST: { wire: 'BAD_REQUEST', exit: EXIT.other },
  FOS_ERR_PROTO_LINE_TOO_LONG: { wire: 'TOO_LARGE', exit: EXIT.other },
  FOS_ERR_PROTO_FRAME_TOO_LARGE: { wire: 'TOO_LARGE', exit: EXIT.other },
  FOS_ERR_PROTO_UNSUPPORTED: { wire: 'UNSUPPORTED', exit: EXIT.other },
  FOS_ERR_PROTO_SHUTTING_DOWN: { wire: 'SHUTTING_DOWN', exit: EXIT.connection },
  FOS_ERR_PROTO_TIMEOUT: { wire: 'TIMEOUT', exit: EXIT.connection },
  FOS_ERR_PROTO_INTERNAL: { wire: 'INTERNAL', exit: EXIT.other },
  // auth
  FOS_ERR_AUTH_FAILED: { wire: 'AUTH_FAILED', exit: EXIT.auth },
  FOS_ERR_AUTH_RATE_LIMITED: { wire: 'RATE_LIMITED', exit: EXIT.auth },
  FOS_ERR_AUTH_WEAK_PASSWORD: { wire: 'BAD_REQUEST', exit: EXIT.usage },
  FOS_ERR_AUTH_NO_CREDENTIALS: { wire: 'AUTH_FAILED', exit: EXIT.auth },
  // paths
  FOS_ERR_PATH_BAD: { wire: 'BAD_PATH', exit: EXIT.usage },
  FOS_ERR_PATH_NOT_FOUND: { wire: 'NOT_FOUND', exit: EXIT.notFound },
  FOS_ERR_PATH_EXISTS: { wire: 'EXISTS', exit: EXIT.conflict },
  FOS_ERR_PATH_NOT_FILE: { wire: 'BAD_REQUEST', exit: EXIT.usage },
  FOS_ERR_PATH_NOT_EMPTY: { wire: 'BAD_REQUEST', exit: EXIT.conflict },
  // store
  FOS_ERR_STORE_CONFLICT: { wire: 'CONFLICT', exit: EXIT.conflict },
  FOS_ERR_STORE_QUOTA: { wire: 'QUOTA', exit: EXIT.other },
  FOS_ERR_STORE_TOO_LARGE: { wire: 'TOO_LARGE', exit: EXIT.other },
  FOS_ERR_STORE_CHECKSUM: { wire: 'CHECKSUM', exit: EXIT.other },
  FOS_ERR_STORE_WRITE: { wire: 'INTERNAL', exit: EXIT.other },
  FOS_ERR_STORE_NO_SPACE: { wire: 'QUOTA', exit: EXIT.other },
  FOS_ERR_STORE_USER_EXISTS: { wire: 'EXISTS', exit: EXIT.conflict },
  FOS_ERR_STORE_NO_USER: { wire: 'NOT_FOUND', exit: EXIT.notFound },
  FOS_ERR_STORE_CORRUPT: { wire: 'INTERNAL', exit: EXIT.other },
  FOS_ERR_STORE_HELD: { wire: 'HELD', exit: EXIT.guard },
  FOS_ERR_STORE_CHANGED: { wire: 'CONFLICT', exit: EXIT.conflict },
  // network and rate limits
  FOS_ERR_NET_CONNECT: { wire: 'INTERNAL', exit: EXIT.connection },
  FOS_ERR_NET_CLOSED: { wire: 'INTERNAL', exit: EXIT.connection },
  FOS_ERR_NET_TIMEOUT: { wire: 'TIMEOUT', exit: EXIT.connection },
  FOS_ERR_NET_TLS: { wire: 'INTERNAL', exit: EXIT.connection },
  FOS_ERR_NET_RATE_LIMITED: { wire: 'RATE_LIMITED', exit: EXIT.other },
  // sync
  FOS_ERR_SYNC_GUARD: { wire: 'HELD', exit: EXIT.guard },
  FOS_ERR_SYNC_CONFLICT: { wire: 'CONFLICT', exit: EXIT.conflict },
  FOS_ERR_SYNC_MANIFEST: { wire: 'INTERNAL', exit: EXIT.other },
  FOS_ERR_SYNC_LOCAL_IO: { wire: 'INTERNAL', exit: EXIT.other },
  FOS_ERR_SYNC_LOCAL_CHANGED: { wire: 'CHECKSUM', exit: EXIT.other },
  FOS_ERR_SYNC_NO_BATCH: { wire: 'NOT_FOUND', exit: EXIT.notFound },
  FOS_ERR_SYNC_BATCH_RESOLVED: { wire: 'CONFLICT', exit: EXIT.conflict },
  // config and cli
  FOS_ERR_CONFIG_INVALID: { wire: 'BAD_REQUEST', exit: EXIT.usage },
  FOS_ERR_CONFIG_MISSING: { wire: 'BAD_REQUEST', exit: EXIT.usage },
  FOS_ERR_CLI_USAGE: { wire: 'BAD_REQUEST', exit: EXIT.usage },
  FOS_ERR_CLI_ABORTED: { wire: 'INTERNAL', exit: EXIT.other },
} as const satisfies Record<string, CodeInfo>;

export type FosErrorCode = keyof typeof CODES;

/** Which internal code a wire code becomes on the client side. */
const FROM_WIRE: Record<WireCode, FosErrorCode> = {
  AUTH_FAILED: 'FOS_ERR_AUTH_FAILED',
  NOT_FOUND: 'FOS_ERR_PATH_NOT_FOUND',
  CONFLICT: 'FOS_ERR_STORE_CONFLICT',
  BAD_PATH: 'FOS_ERR_PATH_BAD',
  QUOTA: 'FOS_ERR_STORE_QUOTA',
  TOO_LARGE: 'FOS_ERR_STORE_TOO_LARGE',
  RATE_LIMITED: 'FOS_ERR_NET_RATE_LIMITED',
  BAD_REQUEST: 'FOS_ERR_PROTO_BAD_REQUEST',
  SHUTTING_DOWN: 'FOS_ERR_PROTO_SHUTTING_DOWN',
  INTERNAL: 'FOS_ERR_PROTO_INTERNAL',
  CHECKSUM: 'FOS_ERR_STORE_CHECKSUM',
  EXISTS: 'FOS_ERR_PATH_EXISTS',
  TIMEOUT: 'FOS_ERR_PROTO_TIMEOUT',
  UNSUPPORTED: 'FOS_ERR_PROTO_UNSUPPORTED',
  HELD: 'FOS_ERR_STORE_HELD',
};

export interface FosErrorOptions {
  readonly cause?: unknown;
  /** Structured, safe-to-send facts (never secrets): offsets, revisions, retry times. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The one error class of fos: a stable code, a human message, optional cause and details. */
export class FosError extends Error {
  override readonly name = 'FosError';
  readonly code: FosErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: FosErrorCode, message: string, options: FosErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** The short code this error travels as on the wire. */
  get wireCode(): WireCode {
    return CODES[this.code].wire;
  }

  /** The CLI exit code for this error. */
  get exitCode(): ExitCode {
    return CODES[this.code].exit;
  }
}

/** True for a value that is one of the wire codes. */
export function isWireCode(value: unknown): value is WireCode {
  return typeof value === 'string' && (WIRE_CODES as readonly string[]).includes(value);
}

/** Builds the FosError a client raises for an `ERR` reply. Unknown codes become INTERNAL. */
export function fromWireCode(code: unknown, message: string, details?: Record<string, unknown>): FosError {
  const internal = isWireCode(code) ? FROM_WIRE[code] : 'FOS_ERR_PROTO_INTERNAL';
  return new FosError(internal, message, details === undefined ? {} : { details });
}

/** Any thrown value as a FosError; unknown errors become `fallback` with the original as cause. */
export function asFosError(err: unknown, fallback: FosErrorCode = 'FOS_ERR_PROTO_INTERNAL'): FosError {
  if (err instanceof FosError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FosError(fallback, message, { cause: err });
}

/** The errno code of a Node system error (`ENOENT`, `ENOSPC`, ...), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
