/**
 * `--config FILE` for `fos server` and `fos user`: the file's `server` section supplies
 * every flag the command line did not give (flags win), so the rest of the command reads
 * one set of options whatever their source.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { ServerConfig } from '../config/schema.js';
import { FosError } from '../errors.js';

/**
 * Loads `--config` when given and fills the flags it covers.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` / `FOS_ERR_CONFIG_INVALID` from the loader, or
 * `FOS_ERR_CONFIG_INVALID` when the file has no `server` section.
 */
export async function applyServerConfig(command: Command): Promise<void> {
  const file: unknown = command.opts()['config'];
  if (typeof file !== 'string') return;
  const config = await loadConfig(file);
  if (config.server === undefined) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `config ${config.file} has no "server" section`);
  }
  for (const [flag, value] of Object.entries(flagsOf(config.server))) {
    if (value === undefined || !hasOption(command, flag) || command.getOptionValueSource(flag) === 'cli') continue;
    command.setOptionValueWithSource(flag, value, 'config');
  }
}

/** The flags (commander keys) a server section stands for. */
function flagsOf(server: ServerConfig): Record<string, string | boolean | undefined> {
  const { limits } = server;
  const metrics = server.metrics === undefined ? undefined : `${server.metrics.host.includes(':') ? `[${server.metrics.host}]` : server.metrics.host}:${server.metrics.port}`;
  return {
    data: server.data,
    host: server.host,
    port: String(server.port),
    logLevel: server.logLevel,
    grace: String(server.graceMs / 1000),
    trashDays: String(server.trashRetentionDays),
    maxConnections: String(limits.maxConnections),
    maxConnectionsPerIp: String(limits.maxConnectionsPerIp),
    authTimeout: String(limits.authTimeoutMs / 1000),
    idleTimeout: String(limits.idleTimeoutMs / 1000),
    maxUploadBytes: limits.maxUploadBytes === null ? undefined : String(limits.maxUploadBytes),
    uploadRate: limits.uploadBytesPerSec === null ? undefined : String(limits.uploadBytesPerSec),
    downloadRate: limits.downloadBytesPerSec === null ? undefined : String(limits.downloadBytesPerSec),
    loginAttemptsPerIp: String(limits.loginAttemptsPerIp),
    loginFailsPerUserIp: String(limits.loginAttemptsPerUser),
    metrics,
    tls: server.tls === undefined ? undefined : true,
    cert: server.tls?.cert,
    key: server.tls?.key,
    redis: server.redisUrl,
    store: server.postgresUrl,
  };
}

function hasOption(command: Command, key: string): boolean {
  return command.options.some((option) => option.attributeName() === key);
}
