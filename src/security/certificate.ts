/**
 * The server's TLS certificate: the administrator's own certificate and key when
 * configured, otherwise a self-signed one that fos generates once into `<data>/tls/` and
 * reuses on every start, so that the fingerprint clients pinned stays valid.
 *
 * Generation uses `selfsigned` (an ECDSA P-256 key, SHA-256 signature); no ASN.1 is
 * written here. The folder is built under a temporary name and renamed into place, so a
 * crash or two servers starting at once never leave a key without its certificate.
 */
import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { FosError, errnoCode } from '../errors.js';
import { TEMP_PREFIX } from '../fs/remote-path.js';
import { fingerprintOf } from './fingerprint.js';
import { ensurePrivateDir, restrictToOwner, writePrivateFileAtomic } from './private-file.js';
import { systemClock, type Clock } from './types.js';

/** The folder under the data folder that holds a generated certificate. */
export const TLS_DIR = 'tls';

/** File names inside {@link TLS_DIR}. */
export const CERT_FILE = 'cert.pem';
export const KEY_FILE = 'key.pem';

/** Validity of a generated certificate. Clients pin it, so a long life avoids needless re-pinning. */
export const GENERATED_VALIDITY_DAYS = 3650;

/** Names a generated certificate covers when none are configured. */
export const DEFAULT_HOSTNAMES: readonly string[] = Object.freeze(['localhost', '127.0.0.1', '::1']);

/** A certificate and its key, PEM-encoded, with the certificate's fingerprint. */
export interface CertificateMaterial {
  readonly cert: string;
  readonly key: string;
  /** `SHA256:<base64>` of the certificate (see fingerprint.ts). */
  readonly fingerprint: string;
  /** Where the certificate came from. */
  readonly source: 'configured' | 'generated' | 'reused';
  readonly certFile: string;
  readonly keyFile: string;
}

/** Options of {@link ensureServerCertificate}. */
export interface EnsureCertificateOptions {
  /** DNS names and IP addresses a generated certificate names; {@link DEFAULT_HOSTNAMES} when absent. */
  readonly hostnames?: readonly string[];
  /** The administrator's certificate (PEM); with `keyFile`, nothing is generated. */
  readonly certFile?: string;
  /** The administrator's private key (PEM). */
  readonly keyFile?: string;
  readonly clock?: Clock;
}

/**
 * Loads the configured certificate, or the one generated earlier in `<dataDir>/tls/`, or
 * generates it there now.
 * @throws FosError `FOS_ERR_CONFIG_INVALID` when only one of cert and key is configured, a
 * file is not PEM, or the key does not match the certificate; `FOS_ERR_CONFIG_MISSING` when a
 * configured file is missing; `FOS_ERR_STORE_WRITE` when the generated files cannot be written.
 */
export async function ensureServerCertificate(
  dataDir: string,
  options: EnsureCertificateOptions = {},
): Promise<CertificateMaterial> {
  const { certFile, keyFile } = options;
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined) {
      throw new FosError('FOS_ERR_CONFIG_INVALID', 'a TLS certificate and its key must be configured together');
    }
    return loadMaterial(certFile, keyFile, 'configured');
  }
  const dir = join(dataDir, TLS_DIR);
  const existing = await loadGenerated(dir);
  if (existing !== null) return existing;
  const won = await generateInto(dataDir, dir, options.hostnames ?? DEFAULT_HOSTNAMES, options.clock ?? systemClock);
  const created = await loadGenerated(dir);
  if (created === null) {
    throw new FosError('FOS_ERR_STORE_WRITE', `the generated certificate in ${dir} vanished`);
  }
  return won ? { ...created, source: 'generated' } : created;
}

async function loadGenerated(dir: string): Promise<CertificateMaterial | null> {
  try {
    await stat(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw new FosError('FOS_ERR_CONFIG_INVALID', `cannot read ${dir}`, { cause: err });
  }
  const material = await loadMaterial(join(dir, CERT_FILE), join(dir, KEY_FILE), 'reused');
  // A key restored from a backup may have lost its mode; it never stays readable by others.
  await restrictToOwner(material.keyFile);
  return material;
}

/** Generates into a staging folder and renames it to `dir`; false when another process won. */
async function generateInto(dataDir: string, dir: string, hostnames: readonly string[], clock: Clock): Promise<boolean> {
  await ensurePrivateDir(dataDir);
  const now = clock();
  const names = hostnames.length > 0 ? hostnames : DEFAULT_HOSTNAMES;
  // Loaded on demand: only a server generating its certificate needs the library.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: names[0] ?? 'fos' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + GENERATED_VALIDITY_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: names.map((name) => (isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name })),
      },
    ],
  });
  const staging = join(dataDir, `${TEMP_PREFIX}tls-${randomBytes(8).toString('hex')}`);
  await ensurePrivateDir(staging);
  try {
    await writePrivateFileAtomic(join(staging, KEY_FILE), pems.private);
    await writePrivateFileAtomic(join(staging, CERT_FILE), pems.cert);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  try {
    await rename(staging, dir);
    return true;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const code = errnoCode(err);
    // Another process renamed its folder into place first: that one is the certificate.
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
    throw new FosError('FOS_ERR_STORE_WRITE', `cannot create ${dir}`, { cause: err });
  }
}

async function loadMaterial(
  certFile: string,
  keyFile: string,
  source: CertificateMaterial['source'],
): Promise<CertificateMaterial> {
  const cert = await readPem(certFile, 'certificate');
  const key = await readPem(keyFile, 'private key');
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(cert);
  } catch (err) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `${certFile} is not a PEM certificate`, { cause: err });
  }
  let matches: boolean;
  try {
    matches = parsed.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `${keyFile} is not a PEM private key`, { cause: err });
  }
  if (!matches) {
    throw new FosError('FOS_ERR_CONFIG_INVALID', `the key in ${keyFile} does not belong to the certificate in ${certFile}`);
  }
  return { cert, key, fingerprint: fingerprintOf(cert), source, certFile, keyFile };
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new FosError('FOS_ERR_CONFIG_MISSING', `the TLS ${what} ${path} does not exist`, { cause: err });
    }
    throw new FosError('FOS_ERR_CONFIG_INVALID', `cannot read the TLS ${what} ${path}`, { cause: err });
  }
}
