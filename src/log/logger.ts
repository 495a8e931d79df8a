/**
 * The root pino logger: JSON for services, readable lines on a terminal, ECS for
 * Elasticsearch. Every component takes a child of the logger built here (STYLE.md §7).
 */
import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino } from 'pino';
import type { DestinationStream, LevelWithSilent, LoggerOptions, Logger as PinoLogger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { FosError } from '../errors.js';

/** The logger every fos component receives (a pino logger). */
export type Logger = PinoLogger;

/** Output formats: `json` (pino's lines), `pretty` (for people), `ecs` (Elastic Common Schema). */
export const LOG_FORMATS = ['json', 'pretty', 'ecs'] as const;

/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Levels a logger can be set to, `silent` included. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number] & LevelWithSilent;

/** Where log lines go: a stream, optionally a terminal. */
export type LogDestination = NodeJS.WritableStream & { readonly isTTY?: boolean };

/** Options of {@link createLogger}. */
export interface LoggerSettings {
  /** Lowest level written; `info` when absent. */
  readonly level?: LogLevel;
  /** `pretty` when the destination is a terminal, `json` otherwise, when absent. */
  readonly format?: LogFormat;
  /** Standard output when absent (services log to stdout; journald or launchd keep it). */
  readonly destination?: LogDestination;
  /** Fields every line carries, e.g. `{ component: 'server' }`. */
  readonly bindings?: Readonly<Record<string, unknown>>;
}

/** The text that replaces a redacted value. */
export const REDACTED = '[redacted]';

const SECRET_KEYS = [
  'password',
  'passwd',
  'newPassword',
  'passwordHash',
  'token',
  'tokenHash',
  'accessToken',
  'refreshToken',
  'secret',
  'apiKey',
  'authorization',
  'cookie',
] as const;

/**
 * Paths pino redacts: each secret key at the top level and one level down, plus HTTP
 * headers. STYLE.md §7: never log passwords, hashes or tokens.
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
]);

/** True for a value that names one of {@link LOG_FORMATS}. */
export function isLogFormat(value: unknown): value is LogFormat {
  return typeof value === 'string' && (LOG_FORMATS as readonly string[]).includes(value);
}

/** True for a value that names one of {@link LOG_LEVELS}. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * Reads a `--log-format` value.
 * @throws FosError `FOS_ERR_CLI_USAGE` when the value is not a known format.
 */
export function parseLogFormat(value: unknown): LogFormat {
  if (isLogFormat(value)) return value;
  throw new FosError('FOS_ERR_CLI_USAGE', `unknown log format ${JSON.stringify(value)}: use ${LOG_FORMATS.join(', ')}`);
}

/**
 * Reads a `--log-level` value.
 * @throws FosError `FOS_ERR_CLI_USAGE` when the value is not a known level.
 */
export function parseLogLevel(value: unknown): LogLevel {
  if (isLogLevel(value)) return value;
  throw new FosError('FOS_ERR_CLI_USAGE', `unknown log level ${JSON.stringify(value)}: use ${LOG_LEVELS.join(', ')}`);
}

/**
 * Builds the root logger. Writes are synchronous in every format, so the last lines
 * before an exit or a crash reach the terminal, journald or the log file.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const isTTY = settings.destination === undefined ? process.stdout.isTTY === true : settings.destination.isTTY === true;
  const format = settings.format ?? (isTTY ? 'pretty' : 'json');
  const common: LoggerOptions = {
    level: settings.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: pino.stdSerializers.err },
  };
  const root = build(format, common, settings.destination, isTTY);
  return settings.bindings === undefined ? root : root.child({ ...settings.bindings });
}

function build(format: LogFormat, common: LoggerOptions, destination: LogDestination | undefined, isTTY: boolean): Logger {
  switch (format) {
    case 'json':
      return pino(common, destinationOf(destination));
    case 'ecs': {
      // ecsFormat supplies messageKey, timestamp and formatters; its own `err` conversion
      // turns errors into ECS `error.*` fields, so pino's err serializer is left out.
      const ecs = ecsFormat({ apmIntegration: false, convertErr: true });
      const { serializers: _serializers, ...rest } = common;
      return pino({ ...rest, ...ecs }, destinationOf(destination));
    }
    case 'pretty':
      return pino(common, prettyDestination(destination, isTTY));
    default: {
      const never: never = format;
      throw new FosError('FOS_ERR_CLI_USAGE', `unknown log format ${String(never)}`);
    }
  }
}

function destinationOf(stream: LogDestination | undefined): DestinationStream {
  if (stream === undefined) return pino.destination({ dest: 1, sync: true });
  return stream;
}

/**
 * pino-pretty's formatter called in line, not its worker transport or its piped stream:
 * a CLI that exits right after logging keeps every line, in order.
 */
function prettyDestination(stream: LogDestination | undefined, isTTY: boolean): DestinationStream {
  const target: NodeJS.WritableStream = stream ?? process.stdout;
  const prettify = prettyFactory({ colorize: isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  return {
    write(line: string): void {
      target.write(prettify(line));
    },
  };
}
