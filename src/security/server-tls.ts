/**
 * The server side of TLS: the node:tls options fos listens with. TLS 1.3 is the minimum
 * by default; TLS 1.2 can be allowed for old clients, nothing older.
 */
import type { TlsOptions } from 'node:tls';
import { FosError } from '../errors.js';
import type { CertificateMaterial } from './certificate.js';

/** The protocol versions a server may require as its minimum, strongest first. */
export const TLS_MIN_VERSIONS = ['TLSv1.3', 'TLSv1.2'] as const;

/** One of {@link TLS_MIN_VERSIONS}. */
export type TlsMinVersion = (typeof TLS_MIN_VERSIONS)[number];

/** The default minimum protocol version. */
export const DEFAULT_TLS_MIN_VERSION: TlsMinVersion = 'TLSv1.3';

/** Options of {@link serverTlsOptions}. */
export interface ServerTlsSettings {
  /** `TLSv1.3` when absent. */
  readonly minVersion?: TlsMinVersion;
}

/**
 * Checks a configured minimum version.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` for anything but `TLSv1.3` and `TLSv1.2`.
 */
export function parseTlsMinVersion(value: unknown): TlsMinVersion {
  if (typeof value === 'string') {
    const found = TLS_MIN_VERSIONS.find((version) => version.toLowerCase() === value.toLowerCase());
    if (found !== undefined) return found;
  }
  throw new FosError('FOS_ERR_CONFIG_INVALID', `TLS minimum version must be one of ${TLS_MIN_VERSIONS.join(', ')}`);
}

/** The options for `tls.createServer` (or a `TLSSocket` wrapping an accepted socket). */
export function serverTlsOptions(material: CertificateMaterial, settings: ServerTlsSettings = {}): TlsOptions {
  return {
    cert: material.cert,
    key: material.key,
    minVersion: settings.minVersion ?? DEFAULT_TLS_MIN_VERSION,
    // fos clients never resume sessions across processes; tickets would only add keys to rotate.
    sessionTimeout: 300,
    // A peer that does not finish the handshake holds a socket; do not let it hold it long.
    handshakeTimeout: 10_000,
  };
}
