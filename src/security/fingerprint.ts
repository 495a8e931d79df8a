/**
 * Certificate fingerprints as fos shows and pins them: `SHA256:` followed by the unpadded
 * base64 of the SHA-256 of the certificate's DER bytes, the notation OpenSSH uses for host
 * keys. Pure: no fs, no sockets.
 *
 * The same digest printed by `openssl x509 -noout -fingerprint -sha256` as colon-separated
 * hex is accepted on input, so an administrator can compare with either tool.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { FosError } from '../errors.js';

/** The prefix of every fingerprint fos prints. */
export const FINGERPRINT_PREFIX = 'SHA256:';

const DIGEST_BYTES = 32;

/**
 * The fingerprint of a certificate given as PEM text or DER bytes.
 * @throws FosError `FOS_ERR_NET_TLS` when the input is not a certificate.
 */
export function fingerprintOf(cert: string | Uint8Array): string {
  let der: Uint8Array;
  try {
    der = new X509Certificate(cert).raw;
  } catch (err) {
    throw new FosError('FOS_ERR_NET_TLS', 'not a valid X.509 certificate', { cause: err });
  }
  return fingerprintOfDer(der);
}

/** The fingerprint of DER certificate bytes, without parsing them (TLS peers hand out DER). */
export function fingerprintOfDer(der: Uint8Array): string {
  const digest = createHash('sha256').update(der).digest('base64').replace(/=+$/, '');
  return `${FINGERPRINT_PREFIX}${digest}`;
}

/**
 * Normalises a fingerprint typed by a person: `SHA256:<base64>` (padding optional) or the
 * 64 hex digits of the digest, with or without colons and an optional `SHA256:` or
 * `sha256 Fingerprint=` prefix.
 * @throws FosError `FOS_ERR_CLI_USAGE` when the text is not a SHA-256 fingerprint.
 */
export function parseFingerprint(text: string): string {
  const trimmed = text.trim();
  const body = trimmed.replace(/^sha256 fingerprint=/i, '').replace(/^sha256:/i, '');
  const hex = body.replace(/:/g, '');
  if (/^[0-9a-f]{64}$/i.test(hex)) {
    return `${FINGERPRINT_PREFIX}${Buffer.from(hex, 'hex').toString('base64').replace(/=+$/, '')}`;
  }
  if (/^[A-Za-z0-9+/]{43}=?$/.test(body)) {
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length === DIGEST_BYTES) return `${FINGERPRINT_PREFIX}${bytes.toString('base64').replace(/=+$/, '')}`;
  }
  throw new FosError(
    'FOS_ERR_CLI_USAGE',
    `'${trimmed.slice(0, 100)}' is not a SHA-256 fingerprint (expected SHA256:<base64> or 64 hex digits)`,
  );
}

/** The same digest as colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it. */
export function fingerprintAsHex(fingerprint: string): string {
  const canonical = parseFingerprint(fingerprint);
  const hex = Buffer.from(canonical.slice(FINGERPRINT_PREFIX.length), 'base64').toString('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? hex;
}
