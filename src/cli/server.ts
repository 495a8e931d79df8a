/**
 * `fos server`: runs the multi-user file server until SIGTERM or SIGINT, then shuts down
 * gracefully (notices to clients, transfers get the grace period) and exits 0.
 */
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import { createLogger, parseLogFormat, parseLogLevel } from '../log/logger.js';
import { SERVER_DEFAULTS, startServer } from '../server/start.js';
import type { ServerOptions } from '../server/start.js';
import type { CliIo } from './main.js';
import { applyServerConfig } from './server-config.js';
import { bcryptCostFrom, requireDataDir } from './server-options.js';
import { CLUSTER_EXAMPLES, addClusterOptions, clusterServices } from './server-cluster.js';
import { SECURITY_EXAMPLES, addServerSecurityOptions, printFingerprint, serverSecurity } from './server-security.js';

const EXAMPLES = `
Examples:
  fos server --data /var/lib/fos
  fos server --data ./data --host 0.0.0.0 --port 12345
  fos server --data ./data --port 0 --log-format pretty
  fos server --data ./data --metrics 127.0.0.1:9464
  fos server --config /etc/fos/server.json

Stops on SIGTERM or SIGINT: clients get SERVER SHUTDOWN, transfers in flight get the grace
period to finish, and the server exits 0.
`;

/** Waits for the signal that stops the server; tests pass their own. */
export type StopSignal = () => Promise<string>;

/** Adds `fos server` to the program. */
export function registerServerCommand(program: Command, io: CliIo, waitForStop: StopSignal = waitForProcessSignal): void {
  const command = program
    .command('server')
    .description('run the fos file server (FOS/2 and the seed protocol on one port)')
    .option('--config <file>', 'a config file; its "server" section supplies every flag not given')
    .option('--data <dir>', 'the data folder: uploads/, tmp/, trash/ and fos.db')
    .option('--host <host>', 'address to listen on', SERVER_DEFAULTS.host)
    .option('--port <port>', `port to listen on, 0 for any free port (default ${SERVER_DEFAULTS.port})`)
    .option('--log-format <format>', 'json, pretty or ecs (default: pretty on a terminal, json otherwise)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--grace <seconds>', `time transfers get to finish on shutdown (default ${SERVER_DEFAULTS.graceMs / 1000})`)
    .option('--idle-timeout <seconds>', `close connections silent this long (default ${SERVER_DEFAULTS.idleTimeoutMs / 1000})`)
    .option('--trash-days <days>', `keep overwritten and deleted versions this long (default ${SERVER_DEFAULTS.trashRetentionMs / 86_400_000})`)
    .option('--max-connections <n>', `connections at once (default ${SERVER_DEFAULTS.maxConnections})`)
    .option('--max-connections-per-ip <n>', `connections at once from one address (default ${SERVER_DEFAULTS.maxConnectionsPerIp})`)
    .option('--max-upload-bytes <n>', 'largest single upload (default unlimited)')
    .option('--metrics <host:port>', 'serve Prometheus metrics on this address');
  addServerSecurityOptions(addClusterOptions(command))
    .addHelpText('after', EXAMPLES + SECURITY_EXAMPLES + CLUSTER_EXAMPLES)
    .action(async (_opts: unknown, command: Command) => {
      await applyServerConfig(command);
      const flags = command.opts<Record<string, string | undefined>>();
      const logger = createLogger({
        level: parseLogLevel(flags['logLevel']),
        ...(flags['logFormat'] === undefined ? {} : { format: parseLogFormat(flags['logFormat']) }),
      });
      const dataDir = requireDataDir(flags['data']);
      if (command.opts()['printFingerprint'] === true) {
        await printFingerprint(command, dataDir, io);
        return;
      }
      const host = flags['host'] ?? SERVER_DEFAULTS.host;
      const security = await serverSecurity(command, dataDir, host, io, logger);
      const options: ServerOptions = {
        ...security.options,
        dataDir,
        host,
        port: integer(flags['port'], '--port', 0, 65_535) ?? SERVER_DEFAULTS.port,
        logger,
        bcryptCost: bcryptCostFrom(undefined, io.env),
        ...optional('graceMs', seconds(flags['grace'], '--grace')),
        ...optional('idleTimeoutMs', seconds(flags['idleTimeout'], '--idle-timeout')),
        ...optional('trashRetentionMs', days(flags['trashDays'])),
        ...optional('maxConnections', integer(flags['maxConnections'], '--max-connections', 1, 1_000_000)),
        ...optional('maxConnectionsPerIp', integer(flags['maxConnectionsPerIp'], '--max-connections-per-ip', 1, 1_000_000)),
        ...optional('maxUploadBytes', integer(flags['maxUploadBytes'], '--max-upload-bytes', 1, Number.MAX_SAFE_INTEGER)),
        ...optional('metricsListen', hostPort(flags['metrics'])),
      };
      const cluster = await clusterServices(command.opts(), dataDir, logger).catch(async (err: unknown) => {
        await security.close();
        throw err;
      });
      try {
        const server = await startServer({ ...options, ...cluster.options });
        const signal = await waitForStop();
        logger.info({ signal }, 'stop requested');
        await server.close();
      } finally {
        await cluster.close();
        await security.close();
      }
    });
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function integer(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FosError('FOS_ERR_CLI_USAGE', `${flag} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  }
  return value;
}

function seconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new FosError('FOS_ERR_CLI_USAGE', `${flag} must be a number of seconds, not ${JSON.stringify(text)}`);
  return Math.round(value * 1000);
}

function days(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new FosError('FOS_ERR_CLI_USAGE', `--trash-days must be a number of days, not ${JSON.stringify(text)}`);
  return Math.round(value * 86_400_000);
}

function hostPort(text: string | undefined): { host: string; port: number } | undefined {
  if (text === undefined) return undefined;
  const colon = text.lastIndexOf(':');
  const port = integer(text.slice(colon + 1), '--metrics port', 0, 65_535);
  if (colon <= 0 || port === undefined) throw new FosError('FOS_ERR_CLI_USAGE', `--metrics takes HOST:PORT, not ${JSON.stringify(text)}`);
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

function waitForProcessSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
