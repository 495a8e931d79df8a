/**
 * The security flags of `fos server` (docs/security.md): TLS with a configured or
 * generated certificate, `--print-fingerprint`, failed-login limits, operation and
 * bandwidth limits per user, and Redis for counters that several nodes share.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { ServerOptions } from '../server/start.js';
import { ByteThrottle } from '../security/byte-throttle.js';
import { DEFAULT_HOSTNAMES, ensureServerCertificate } from '../security/certificate.js';
import { fingerprintAsHex } from '../security/fingerprint.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter } from '../security/login-limiter.js';
import { OpLimiter } from '../security/op-limiter.js';
import { closeRedis, connectRedis, redactUrl } from '../security/redis-client.js';
import { parseTlsMinVersion, serverTlsOptions } from '../security/server-tls.js';
import type { LimitBackend } from '../security/types.js';
import type { CliIo } from './main.js';

/** Help text for the security flags. */
export const SECURITY_EXAMPLES = `
Security (docs/security.md):
  fos server --data ./data --tls                       self-signed certificate, made once in data/tls/
  fos server --data ./data --tls --cert fullchain.pem --key privkey.pem
  fos server --data ./data --print-fingerprint         what clients should see on first login
  fos server --data ./data --redis redis://127.0.0.1:6379 --login-fails-per-user-ip 5
  fos server --data ./data --ops-per-second 50 --upload-rate 10M --download-rate 20M
`;

/** Adds the security flags to `fos server`. */
export function addServerSecurityOptions(command: Command): Command {
  return command
    .option('--tls', 'serve TLS (certificate from --cert/--key, else generated once in <data>/tls/)')
    .option('--cert <file>', 'TLS certificate chain (PEM), with --key')
    .option('--key <file>', 'TLS private key (PEM), with --cert')
    .option('--tls-min-version <version>', 'TLSv1.3 (default) or TLSv1.2')
    .option('--print-fingerprint', "print the TLS certificate's SHA-256 fingerprint and exit")
    .option('--auth-timeout <seconds>', 'time from connect to a successful login (default 10)')
    .option('--redis <url>', 'keep rate-limit counters in Redis, shared by several nodes (env FOS_REDIS_URL)')
    .option('--redis-prefix <prefix>', 'prefix of the Redis keys (default fos:)')
    .option('--login-fails-per-user-ip <n>', `consecutive failed logins per user and address before an hour's block (default ${DEFAULT_LOGIN_LIMITS.perUserIp.points})`)
    .option('--login-attempts-per-ip <n>', `failed logins per address per day (default ${DEFAULT_LOGIN_LIMITS.perIp.points})`)
    .option('--login-fails-per-user <n>', `failed logins per user per hour from all addresses (default ${DEFAULT_LOGIN_LIMITS.perUser.points})`)
    .option('--ops-per-second <n>', 'operations per user per second (default unlimited)')
    .option('--upload-rate <bytes>', 'upload bytes per second per user, e.g. 500K or 10M (default unlimited)')
    .option('--download-rate <bytes>', 'download bytes per second per user (default unlimited)');
}

/**
 * `--print-fingerprint`: the fingerprint of the certificate the server would use (made now
 * when none exists yet), base64 and hex, one per line.
 * @throws FosError from the certificate files.
 */
export async function printFingerprint(command: Command, dataDir: string, io: CliIo): Promise<void> {
  const flags = command.opts<Record<string, unknown>>();
  const material = await ensureServerCertificate(dataDir, certificateOptions(flags, undefined));
  io.stdout.write(`${material.fingerprint}\n${fingerprintAsHex(material.fingerprint)}\n`);
}

/** The ServerOptions the security flags add, and what to close when the server stops. */
export interface ServerSecurity {
  readonly options: Partial<ServerOptions>;
  close(): Promise<void>;
}

/**
 * Builds TLS options, limiters and the Redis client from the flags.
 * @throws FosError `FOS_ERR_CLI_USAGE` for a malformed flag, `FOS_ERR_CONFIG_*` from the
 * certificate, `FOS_ERR_NET_CONNECT` when Redis cannot be reached.
 */
export async function serverSecurity(command: Command, dataDir: string, host: string, io: CliIo, logger: Logger): Promise<ServerSecurity> {
  const flags = command.opts<Record<string, unknown>>();
  const usesTls = flags['tls'] === true || flags['cert'] !== undefined || flags['key'] !== undefined;
  let options: Partial<ServerOptions> = {};
  if (usesTls) {
    const material = await ensureServerCertificate(dataDir, certificateOptions(flags, host));
    const minVersion = flags['tlsMinVersion'] === undefined ? undefined : parseTlsMinVersion(flags['tlsMinVersion']);
    options = { tls: serverTlsOptions(material, minVersion === undefined ? {} : { minVersion }) };
    logger.info({ fingerprint: material.fingerprint, source: material.source, certFile: material.certFile, minVersion: minVersion ?? 'TLSv1.3' }, 'tls certificate');
  }
  const authTimeout = number(flags['authTimeout'], '--auth-timeout', 0.1, 3600);
  if (authTimeout !== undefined) options = { ...options, authTimeoutMs: Math.round(authTimeout * 1000) };

  const redisUrl = text(flags['redis']) ?? text(io.env['FOS_REDIS_URL']);
  const redis = redisUrl === undefined ? undefined : await connectRedis(redisUrl);
  if (redisUrl !== undefined) logger.info({ redis: redactUrl(redisUrl) }, 'rate limits in redis');
  const backend: LimitBackend =
    redis === undefined ? { kind: 'memory' } : { kind: 'redis', client: redis, keyPrefix: text(flags['redisPrefix']) ?? 'fos:' };
  try {
    const perUserIp = integer(flags['loginFailsPerUserIp'], '--login-fails-per-user-ip');
    const perIp = integer(flags['loginAttemptsPerIp'], '--login-attempts-per-ip');
    const perUser = integer(flags['loginFailsPerUser'], '--login-fails-per-user');
    const limiter = new LoginLimiter(backend, {
      ...(perUserIp === undefined ? {} : { perUserIp: { ...DEFAULT_LOGIN_LIMITS.perUserIp, points: perUserIp } }),
      ...(perIp === undefined ? {} : { perIp: { ...DEFAULT_LOGIN_LIMITS.perIp, points: perIp } }),
      ...(perUser === undefined ? {} : { perUser: { ...DEFAULT_LOGIN_LIMITS.perUser, points: perUser } }),
    });
    options = { ...options, limiter };
    const ops = integer(flags['opsPerSecond'], '--ops-per-second');
    if (ops !== undefined) options = { ...options, opLimiter: new OpLimiter(backend, { ops }) };
    const upload = byteRate(flags['uploadRate'], '--upload-rate');
    if (upload !== undefined) options = { ...options, uploadThrottle: new ByteThrottle(backend, { name: 'upload', bytesPerSecond: upload }) };
    const download = byteRate(flags['downloadRate'], '--download-rate');
    if (download !== undefined) options = { ...options, downloadThrottle: new ByteThrottle(backend, { name: 'download', bytesPerSecond: download }) };
  } catch (err) {
    if (redis !== undefined) await closeRedis(redis);
    throw err;
  }
  return {
    options,
    close: async () => {
      if (redis !== undefined) await closeRedis(redis);
    },
  };
}

function certificateOptions(flags: Record<string, unknown>, host: string | undefined): Parameters<typeof ensureServerCertificate>[1] {
  const certFile = text(flags['cert']);
  const keyFile = text(flags['key']);
  const names = new Set(DEFAULT_HOSTNAMES);
  names.add(hostname().toLowerCase());
  if (host !== undefined && host !== '0.0.0.0' && host !== '::') names.add(host);
  return {
    hostnames: [...names],
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function number(value: unknown, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n) || n < min || n > max) {
    throw new FosError('FOS_ERR_CLI_USAGE', `${flag} must be a number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return n;
}

function integer(value: unknown, flag: string): number | undefined {
  const n = number(value, flag, 1, 1_000_000_000);
  if (n !== undefined && !Number.isInteger(n)) throw new FosError('FOS_ERR_CLI_USAGE', `${flag} must be a whole number`);
  return n;
}

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `500K`, `10M`, `1G` or plain bytes, per second. */
function byteRate(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)([kmg]?)(?:i?b)?(?:\/s)?$/i.exec(value.trim()) : null;
  const unit = UNITS[match?.[2]?.toLowerCase() ?? ''];
  const amount = Number(match?.[1]);
  if (match === null || unit === undefined || !(amount > 0)) {
    throw new FosError('FOS_ERR_CLI_USAGE', `${flag} takes bytes per second such as 500K or 10M, not ${JSON.stringify(value)}`);
  }
  return Math.max(1, Math.round(amount * unit));
}
