/**
 * Reads a `--metrics HOST:PORT` value: `127.0.0.1:9464`, `[::1]:9464` or `:9464`.
 */
import { FosError } from '../errors.js';

/** Where the metrics endpoint listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** The host used when a value gives only `:PORT`: loopback, because /metrics has no authentication. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/**
 * Parses `HOST:PORT`; an IPv6 host is written in brackets.
 * @throws FosError `FOS_ERR_CLI_USAGE` when the value is not HOST:PORT with a port in 0..65535.
 */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value);
  const port = match?.[3] === undefined ? Number.NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port > 65_535) {
    throw new FosError('FOS_ERR_CLI_USAGE', `bad listen address ${JSON.stringify(value)}: use HOST:PORT, e.g. 127.0.0.1:9464`);
  }
  const host = match[1] ?? match[2] ?? '';
  return Object.freeze({ host: host === '' ? DEFAULT_METRICS_HOST : host, port });
}
