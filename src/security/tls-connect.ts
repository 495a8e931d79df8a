/**
 * The client side of TLS: connect to a fos server and decide whether to trust it before a
 * single byte of the session is sent.
 *
 * - With `ca`, the certificate chain and host name are verified as usual (node:tls).
 * - Otherwise the server's certificate is pinned: its fingerprint must equal `pin` (given
 *   with `--fingerprint`) or the one recorded in known_hosts; an unknown server is shown
 *   to `onFirstUse`, and recorded when it says yes (trust on first use, like SSH).
 *
 * Chain verification is switched off only in the pinning mode, where the explicit
 * fingerprint comparison on `secureConnect` replaces it; the socket is handed to the
 * caller only after that comparison passed.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { FosError, errnoCode } from '../errors.js';
import { fingerprintOfDer, parseFingerprint } from './fingerprint.js';
import { hostKey, lookupHost, rememberHost } from './known-hosts.js';

/** How long connecting plus the TLS handshake may take by default. */
export const DEFAULT_TLS_CONNECT_TIMEOUT_MS = 15_000;

/** Asks whether to trust a server seen for the first time; resolves true to trust it. */
export type FirstUsePrompt = (fingerprint: string, server: string) => Promise<boolean>;

/** Options of {@link tlsConnect}. */
export interface TlsConnectOptions {
  readonly host: string;
  readonly port: number;
  /** The fingerprint the server must present (`--fingerprint`); recorded without asking. */
  readonly pin?: string;
  /** PEM CA certificate(s) to verify the server against instead of pinning (`--ca`). */
  readonly ca?: string;
  /** The known_hosts file that remembers pinned servers. */
  readonly knownHostsFile: string;
  /** Called for a server that is neither pinned nor known; without it unknown servers are refused. */
  readonly onFirstUse?: FirstUsePrompt;
  /** Name to verify with `ca` when `host` is an address that the certificate does not list. */
  readonly servername?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Reads a `--ca` file.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` when the file does not exist, `FOS_ERR_CONFIG_INVALID` otherwise.
 */
export async function readCaFile(path: string): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    if (!text.includes('-----BEGIN CERTIFICATE-----')) {
      throw new FosError('FOS_ERR_CONFIG_INVALID', `${path} holds no PEM certificate`);
    }
    return text;
  } catch (err) {
    if (err instanceof FosError) throw err;
    const code = errnoCode(err) === 'ENOENT' ? 'FOS_ERR_CONFIG_MISSING' : 'FOS_ERR_CONFIG_INVALID';
    throw new FosError(code, `cannot read the CA file ${path}`, { cause: err });
  }
}

/**
 * Opens a TLS connection and resolves once the server is trusted.
 * @throws FosError `FOS_ERR_NET_TLS` when the certificate is refused (changed fingerprint,
 * pin mismatch, failed CA verification, first use declined), `FOS_ERR_NET_CONNECT` when the
 * server cannot be reached, `FOS_ERR_NET_TIMEOUT` when the handshake takes too long.
 */
export async function tlsConnect(options: TlsConnectOptions): Promise<TLSSocket> {
  const pin = options.pin === undefined ? undefined : parseFingerprint(options.pin);
  const socket = await handshake(options);
  // The socket may fail while the check runs; that must not go unhandled meanwhile.
  const ignoreLateError = (): void => undefined;
  socket.on('error', ignoreLateError);
  let verdict: Verdict;
  try {
    verdict = await checkTrust(socket, options, pin);
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    socket.off('error', ignoreLateError);
  }
  if (verdict === 'trusted') return socket;
  // A person was asked: the server may have given up on this connection while they read
  // the prompt. The fingerprint is recorded now, so a fresh connection is checked against
  // it without asking again.
  socket.destroy();
  return tlsConnect({ ...options, onFirstUse: refuseUnknown });
}

/** `trusted`: use this socket; `accepted-now`: a person accepted it, reconnect. */
type Verdict = 'trusted' | 'accepted-now';

/** The trust settings of {@link tlsConnector}: everything of {@link TlsConnectOptions} but the address. */
export type TlsTrust = Omit<TlsConnectOptions, 'host' | 'port' | 'signal'>;

/**
 * A connect function for the client library (`ConnectFn` in src/client/types.ts): each call
 * opens a TLS connection to the given address and checks it with `trust`.
 */
export function tlsConnector(trust: TlsTrust): (address: { readonly host: string; readonly port: number }, signal: AbortSignal | undefined) => Promise<TLSSocket> {
  return (address, signal) =>
    tlsConnect({ ...trust, host: address.host, port: address.port, ...(signal === undefined ? {} : { signal }) });
}

const refuseUnknown: FirstUsePrompt = () => Promise.resolve(false);

async function checkTrust(socket: TLSSocket, options: TlsConnectOptions, pin: string | undefined): Promise<Verdict> {
  const server = hostKey(options.host, options.port);
  const presented = fingerprintOfDer(socket.getPeerCertificate().raw);
  if (options.ca !== undefined && pin === undefined) return 'trusted';
  if (pin !== undefined) {
    if (presented !== pin) {
      throw new FosError(
        'FOS_ERR_NET_TLS',
        `the server ${server} presented certificate ${presented}, not the expected ${pin}; the connection was refused`,
        { details: { server, expected: pin, presented } },
      );
    }
    await rememberHost(options.knownHostsFile, options.host, options.port, presented);
    return 'trusted';
  }
  const known = await lookupHost(options.knownHostsFile, options.host, options.port);
  if (known === presented) return 'trusted';
  if (known !== undefined) {
    throw new FosError(
      'FOS_ERR_NET_TLS',
      [
        `the certificate of ${server} has CHANGED: someone may be intercepting the connection, or the server got a new certificate.`,
        `  known:     ${known}`,
        `  presented: ${presented}`,
        `If the server's administrator confirms the new fingerprint (fos server --print-fingerprint),`,
        `reconnect with --fingerprint ${presented}, or remove the line for ${server} from ${options.knownHostsFile}.`,
      ].join('\n'),
      { details: { server, known, presented } },
    );
  }
  const trusted = options.onFirstUse === undefined ? false : await options.onFirstUse(presented, server);
  if (!trusted) {
    throw new FosError(
      'FOS_ERR_NET_TLS',
      `the server ${server} is not known and its certificate ${presented} was not accepted; ` +
        `compare it with fos server --print-fingerprint and pass --fingerprint ${presented}`,
      { details: { server, presented } },
    );
  }
  await rememberHost(options.knownHostsFile, options.host, options.port, presented);
  return 'accepted-now';
}

function handshake(options: TlsConnectOptions): Promise<TLSSocket> {
  const usesCa = options.ca !== undefined;
  const servername = options.servername ?? (isIP(options.host) === 0 ? options.host : undefined);
  const tlsOptions: ConnectionOptions = {
    host: options.host,
    port: options.port,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: usesCa,
    ...(usesCa ? { ca: options.ca } : {}),
    ...(servername === undefined ? {} : { servername }),
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TLS_CONNECT_TIMEOUT_MS;
  return new Promise<TLSSocket>((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(new FosError('FOS_ERR_CLI_ABORTED', 'connection aborted', { cause: options.signal.reason }));
      return;
    }
    const socket = connect(tlsOptions);
    // Control lines are small and must not wait for Nagle.
    socket.setNoDelay(true);
    const fail = (err: FosError): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => {
      // System errors (ECONNREFUSED, ENOTFOUND, EAI_AGAIN, …) mean the server is not
      // reachable; everything else here comes from the TLS layer or the certificate check.
      const code = errnoCode(err) ?? '';
      const isNetwork = /^E[A-Z]+$/.test(code) || code.startsWith('EAI_');
      fail(
        !isNetwork
          ? new FosError('FOS_ERR_NET_TLS', `TLS handshake with ${hostKey(options.host, options.port)} failed: ${err.message}`, { cause: err })
          : new FosError('FOS_ERR_NET_CONNECT', `cannot connect to ${hostKey(options.host, options.port)}: ${err.message}`, { cause: err }),
      );
    };
    const onClose = (): void => {
      fail(new FosError('FOS_ERR_NET_CLOSED', `${hostKey(options.host, options.port)} closed the connection during the TLS handshake`));
    };
    const onAbort = (): void => {
      fail(new FosError('FOS_ERR_CLI_ABORTED', 'connection aborted', { cause: options.signal?.reason }));
    };
    const timer = setTimeout(() => {
      fail(new FosError('FOS_ERR_NET_TIMEOUT', `no TLS handshake with ${hostKey(options.host, options.port)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onSecure = (): void => {
      cleanup();
      resolve(socket);
    };
    function cleanup(): void {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('secureConnect', onSecure);
      options.signal?.removeEventListener('abort', onAbort);
    }
    socket.once('secureConnect', onSecure);
    socket.on('error', onError);
    socket.once('close', onClose);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
