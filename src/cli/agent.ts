/**
 * `fos agent`: runs the sync agent until SIGTERM or SIGINT; then the transfer in hand
 * finishes, the manifests are saved and it exits 0. A second signal aborts at once.
 * Logs to stdout (pino: JSON, pretty on a terminal, or ECS with --log-format); `--metrics HOST:PORT` serves the agent's Prometheus metrics.
 */
import type { Command } from 'commander';
import { openSyncSession } from '../agent/sync-session.js';
import { startAgent } from '../agent/runtime.js';
import { systemClock } from '../client/index.js';
import { createLogger, parseLogFormat, parseLogLevel } from '../log/logger.js';
import type { LogDestination } from '../log/logger.js';
import { createAgentMetrics } from '../metrics/agent-metrics.js';
import { parseListenAddress } from '../metrics/listen-address.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import type { MetricsServer } from '../metrics/metrics-server.js';
import type { CliIo } from './main.js';
import { agentConfigPath, loadSyncSettings, readToken } from './sync-settings.js';

interface AgentFlags {
  readonly config?: string;
  readonly metrics?: string;
  readonly logFormat?: string;
  readonly logLevel?: string;
}

/** Registers `fos agent`. */
export function registerAgentCommand(program: Command, io: CliIo): void {
  program
    .command('agent')
    .description('run the sync agent until stopped (watches the folders and the server)')
    .option('--config <file>', 'agent config (env FOS_AGENT_CONFIG, default ~/.config/fos/agent.json)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics')
    .option('--log-format <format>', 'json, pretty or ecs (default: pretty on a terminal, json otherwise)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default: the config\'s logLevel)')
    .action(async (flags: AgentFlags) => {
      const settings = await loadSyncSettings(agentConfigPath(flags.config, io.env));
      const token = await readToken(settings.tokenFile);
      const logger = createLogger({
        level: flags.logLevel === undefined ? settings.logLevel : parseLogLevel(flags.logLevel),
        ...(flags.logFormat === undefined ? {} : { format: parseLogFormat(flags.logFormat) }),
        destination: io.stdout as LogDestination, bindings: { component: 'agent', device: settings.device } });
      const metrics = flags.metrics === undefined ? undefined : createAgentMetrics();
      let metricsServer: MetricsServer | null = null;
      if (metrics !== undefined && flags.metrics !== undefined) {
        const address = parseListenAddress(flags.metrics);
        metricsServer = await startMetricsServer({ ...address, registry: metrics.registry });
        logger.info({ port: metricsServer.port }, 'metrics listening');
      }
      const session = await openSyncSession(settings, {
        token,
        onRetry: ({ attempt, delayMs, error }) => logger.warn({ attempt, delayMs, code: error.code }, 'retrying'),
        onManifestError: (err) => logger.error({ err }, 'cannot write the manifest'),
      });
      const agent = await startAgent({ session, clock: systemClock, logger, ...(metrics === undefined ? {} : { metrics }) });
      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals): void => {
          signals += 1;
          if (signals > 1) {
            logger.warn({ signal }, 'second signal: exiting now');
            process.exit(1);
          }
          logger.info({ signal }, 'stopping: finishing the transfers in hand');
          agent
            .stop()
            .catch((err: unknown) => logger.error({ err }, 'stop failed'))
            .finally(() => {
              process.off('SIGTERM', onSignal);
              process.off('SIGINT', onSignal);
              resolve();
            });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      await metricsServer?.close();
    });
}
