/**
 * Reaching a server: the default TCP connect function and the `HOST:PORT` parser. TLS
 * (issue 7) provides another ConnectFn with the same contract.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FosError, errnoCode } from '../errors.js';
import { abortError } from './clock.js';
import type { ConnectFn, ServerAddress } from './types.js';

/** The seed's address, used when nothing else names a server. */
export const DEFAULT_SERVER = '127.0.0.1:12345';

const REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EADDRNOTAVAIL: 'address not available',
};

/** `host:port` as people write it (IPv6 in brackets). */
export function formatAddress(address: ServerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The FosError for a failed connect, worded as `cannot reach HOST:PORT: connection refused`. */
export function connectError(address: ServerAddress, err: unknown): FosError {
  const code = errnoCode(err);
  const reason = (code === undefined ? undefined : REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
  return new FosError('FOS_ERR_NET_CONNECT', `cannot reach ${formatAddress(address)}: ${reason}`, {
    cause: err,
    details: code === undefined ? {} : { errno: code },
  });
}

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT` or `HOST` (port 12345).
 * @throws FosError `FOS_ERR_CLI_USAGE` for anything else.
 */
export function parseServerAddress(text: string): ServerAddress {
  const trimmed = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  const plain = /^([^:\s[\]]+)(?::(\d+))?$/.exec(trimmed);
  const match = bracket ?? plain;
  const host = match?.[1];
  if (match === null || host === undefined) {
    throw new FosError('FOS_ERR_CLI_USAGE', `bad server address ${JSON.stringify(text)}: expected HOST:PORT`);
  }
  const port = match[2] === undefined ? 12345 : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new FosError('FOS_ERR_CLI_USAGE', `bad port in server address ${JSON.stringify(text)}`);
  }
  return { host, port };
}

/**
 * Plain TCP with TCP_NODELAY: control lines are small and must not wait for Nagle.
 * @throws FosError `FOS_ERR_NET_CONNECT` when the server cannot be reached; the signal's
 * abort error when aborted.
 */
export const connectTcp: ConnectFn = (address, signal) =>
  new Promise<Duplex>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const socket: Socket = netConnect({ host: address.host, port: address.port, noDelay: true });
    const cleanup = (): void => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(connectError(address, err));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(abortError(signal as AbortSignal));
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
