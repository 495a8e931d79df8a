/**
 * The fos config file: one JSON file with an `agent` section (the sync agent, `fos sync`,
 * `fos status`) and a `server` section (`fos server`); a machine uses one or both.
 * Validated with zod; every field not listed is refused, so a typo is an error, not a
 * silently ignored setting. Defaults live here and only here.
 */
import { z } from 'zod';
import { parseFingerprint } from '../security/fingerprint.js';

/** Log levels pino knows, plus 'silent'. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/u;

function isFingerprint(text: string): boolean {
  try {
    parseFingerprint(text);
    return true;
  } catch {
    // parseFingerprint throws for anything that is not a fingerprint: that is the answer.
    return false;
  }
}

const port = z.number().int().min(0).max(65_535);
const path = z.string().min(1, 'must not be empty');
const logLevel = z.enum(LOG_LEVELS).default('info');

const folderSchema = z.strictObject({
  /** The local folder; relative paths are relative to the config file's folder. */
  local: path,
  /** The folder on the server, relative to the user's root; '' is the root. */
  remote: z
    .string()
    .default('')
    .refine((v) => !v.startsWith('/') && !v.endsWith('/') && !v.split('/').some((s) => s === '..' || s === '.'), {
      message: "must be relative, '/'-separated, without '.' or '..' segments",
    }),
  /** Names the pair's state files; letters, digits, '.', '_', '-'. Derived when absent. */
  id: z
    .string()
    .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/u, "letters, digits, '.', '_' and '-', at most 64, not starting with '.'")
    .optional(),
  /** Treat names that differ only by case as one name. Detected when absent. */
  caseInsensitive: z.boolean().optional(),
});

/** The `agent` section: where to sync what, and how. */
export const agentSchema = z.strictObject({
  /** The fos server, `host:port`. */
  server: z.string().regex(HOST_PORT, 'must be host:port').refine((v) => Number(HOST_PORT.exec(v)?.[1]) <= 65_535, {
    message: 'port must be at most 65535',
  }),
  user: z.string().regex(/^[^\s:]{1,64}$/u, 'no spaces or colons, at most 64 characters'),
  /** File holding the device token (`fos init` writes it, mode 0600). */
  tokenFile: path,
  tls: z
    .strictObject({
      /**
       * Pinned SHA-256 fingerprint of the server certificate, as `fos server
       * --print-fingerprint` shows it (`SHA256:<base64>`) or as hex (':' allowed).
       */
      fingerprint: z
        .string()
        .refine(isFingerprint, 'must be a SHA-256 fingerprint (SHA256:<base64> or 64 hex digits)')
        .transform((v) => parseFingerprint(v))
        .optional(),
      /** A CA certificate file (PEM) to verify the server with. */
      ca: path.optional(),
    })
    .optional(),
  /** This device's name, shown in conflict copy names. */
  device: z
    .string()
    .min(1, 'required')
    .max(64, 'at most 64 characters')
    .regex(/^[^/\\()\p{Cc}]+$/u, 'no slashes, backslashes, parentheses or control characters'),
  /** Manifests, status and the agent's socket. */
  stateDir: path,
  folders: z.array(folderSchema).min(1, 'at least one folder pair'),
  /** Ignore patterns (gitignore syntax) added to the defaults, before `.fosignore`. */
  ignore: z.array(z.string()).default([]),
  rescanIntervalSec: z.number().int().min(10).max(86_400).default(300),
  /** Most file watches the agent uses, all folders together; null: the system's limit less a reserve. */
  maxWatches: z.number().int().min(1).nullable().default(null),
  debounceMs: z.number().int().min(0).max(60_000).default(150),
  settleMs: z.number().int().min(0).max(600_000).default(1000),
  concurrency: z.number().int().min(1).max(64).default(4),
  /** Compress transfers (brotli, else gzip; chunks that do not shrink go plain), as rsync -z. */
  compress: z.boolean().default(false),
  /** A pass deleting more than this share of a folder's files holds the deletions (exit 7). */
  maxDeleteShare: z.number().min(0).max(1).default(0.5),
  /** The share rule applies from this many deletions on. */
  minGuardDeletions: z.number().int().min(1).default(1),
  /** A pass deleting more than this many files holds the deletions. */
  maxDeleteFiles: z.number().int().min(1).default(1000),
  /** A pass deleting files of more than this many bytes holds the deletions (10 GiB). */
  maxDeleteBytes: z.number().int().min(0).default(10 * 1024 ** 3),
  /** Conflict copies per file beyond which a conflict is held for a human. */
  maxConflictCopies: z.number().int().min(1).max(1000).default(10),
  logLevel,
});

/** The `server` section: `fos server`. */
export const serverSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(12_345),
  /** The data folder: uploads/, tmp/, trash/, fos.db. */
  data: path,
  /** TLS: both files, or neither for a self-signed certificate kept under the data folder. */
  tls: z
    .strictObject({ cert: path.optional(), key: path.optional() })
    .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'cert and key go together' })
    .optional(),
  trashRetentionDays: z.number().min(0).max(3650).default(30),
  /** Time transfers in flight get to finish on shutdown. */
  graceMs: z.number().int().min(0).max(600_000).default(10_000),
  limits: z
    .strictObject({
      maxConnections: z.number().int().min(1).default(256),
      maxConnectionsPerIp: z.number().int().min(1).default(32),
      authTimeoutMs: z.number().int().min(100).default(10_000),
      idleTimeoutMs: z.number().int().min(1000).default(300_000),
      /** Largest single upload, bytes; null: no limit. */
      maxUploadBytes: z.number().int().min(1).nullable().default(null),
      /** Per user, bytes per second; null: no limit. */
      uploadBytesPerSec: z.number().int().min(1).nullable().default(null),
      downloadBytesPerSec: z.number().int().min(1).nullable().default(null),
      /** Failed logins allowed per window, per IP and per username. */
      loginAttemptsPerIp: z.number().int().min(1).default(20),
      loginAttemptsPerUser: z.number().int().min(1).default(10),
      loginWindowSec: z.number().int().min(1).default(600),
    })
    .prefault({}),
  /** Serve Prometheus `/metrics` here. */
  metrics: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: port.default(9464) }).optional(),
  /** Keep rate limits in Redis (several server nodes). */
  redisUrl: z.string().regex(/^rediss?:\/\//u, 'must be a redis:// or rediss:// URL').optional(),
  /** Keep metadata in PostgreSQL instead of SQLite (several server nodes). */
  postgresUrl: z.string().regex(/^postgres(?:ql)?:\/\//u, 'must be a postgres:// URL').optional(),
  logLevel,
});

/** The whole file. */
export const configSchema = z
  .strictObject({
    /** Optional, for editors: the JSON schema's URL. */
    $schema: z.string().optional(),
    agent: agentSchema.optional(),
    server: serverSchema.optional(),
  })
  .refine((c) => c.agent !== undefined || c.server !== undefined, { message: 'needs an "agent" or a "server" section' });

/** The file as validated, before paths are resolved. */
export type ConfigInput = z.output<typeof configSchema>;

/** A folder pair, paths resolved. */
export interface FolderConfig {
  /** Absolute local folder. */
  readonly local: string;
  /** Remote folder relative to the user's root ('' for the root). */
  readonly remote: string;
  /** Safe file-name id of the pair (given or derived). */
  readonly id: string;
  /** Case-insensitive names; absent: detect. */
  readonly caseInsensitive?: boolean;
}

/** The agent section with defaults applied and paths made absolute. */
export interface AgentConfig {
  readonly server: string;
  /** `server` split up. */
  readonly endpoint: { readonly host: string; readonly port: number };
  readonly user: string;
  readonly tokenFile: string;
  readonly tls?: { readonly fingerprint?: string; readonly ca?: string };
  readonly device: string;
  readonly stateDir: string;
  readonly folders: readonly FolderConfig[];
  readonly ignore: readonly string[];
  readonly rescanIntervalSec: number;
  /** Most file watches the agent uses; null: the system's limit less a reserve. */
  readonly maxWatches: number | null;
  readonly debounceMs: number;
  readonly settleMs: number;
  readonly concurrency: number;
  /** Compress transfers (brotli, else gzip), as rsync -z. */
  readonly compress: boolean;
  readonly maxDeleteShare: number;
  readonly minGuardDeletions: number;
  readonly maxDeleteFiles: number;
  readonly maxDeleteBytes: number;
  readonly maxConflictCopies: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

/** The server's limits. */
export interface ServerLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly authTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxUploadBytes: number | null;
  readonly uploadBytesPerSec: number | null;
  readonly downloadBytesPerSec: number | null;
  readonly loginAttemptsPerIp: number;
  readonly loginAttemptsPerUser: number;
  readonly loginWindowSec: number;
}

/** The server section with defaults applied and paths made absolute. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly data: string;
  /** Present: serve TLS; without cert and key, with a self-signed certificate. */
  readonly tls?: { readonly cert?: string; readonly key?: string };
  readonly trashRetentionDays: number;
  readonly graceMs: number;
  readonly limits: ServerLimits;
  readonly metrics?: { readonly host: string; readonly port: number };
  readonly redisUrl?: string;
  readonly postgresUrl?: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

/** A loaded config: deep-frozen, typed, absolute paths. */
export interface Config {
  /** The file it came from (absolute). */
  readonly file: string;
  readonly agent?: AgentConfig;
  readonly server?: ServerConfig;
}

/** Splits `host:port` (IPv6 in brackets); null when it is not one. */
export function parseHostPort(value: string): { host: string; port: number } | null {
  const match = HOST_PORT.exec(value);
  if (match === null) return null;
  const portNumber = Number(match[1]);
  if (portNumber > 65_535) return null;
  const host = value.slice(0, value.lastIndexOf(':'));
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: portNumber };
}
