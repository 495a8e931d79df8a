import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CERT_FILE, KEY_FILE, TLS_DIR, ensureServerCertificate } from '../src/security/certificate.js';
import { fingerprintAsHex } from '../src/security/fingerprint.js';
import { parseTlsMinVersion, serverTlsOptions } from '../src/security/server-tls.js';

const run = promisify(execFile);
let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-cert-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureServerCertificate', () => {
  it('generates a self-signed certificate once, with a private key, and reuses it', async () => {
    const first = await ensureServerCertificate(dir, { hostnames: ['files.example', '127.0.0.1'] });
    expect(first.source).toBe('generated');
    const keyMode = (await stat(join(dir, TLS_DIR, KEY_FILE))).mode & 0o777;
    expect(keyMode).toBe(0o600);
    expect((await stat(join(dir, TLS_DIR))).mode & 0o077).toBe(0);
    const cert = new X509Certificate(first.cert);
    expect(cert.subjectAltName).toContain('DNS:files.example');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);

    const again = await ensureServerCertificate(dir, { hostnames: ['other.example'] });
    expect(again.source).toBe('reused');
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(again.key).toBe(first.key);
    // Nothing but the tls folder was left behind (no staging folders).
    expect(await readdir(dir)).toEqual([TLS_DIR]);
  });

  it('ends with one certificate when several starts race', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureServerCertificate(dir)));
    const fingerprints = new Set(results.map((r) => r.fingerprint));
    expect(fingerprints.size).toBe(1);
    expect(results.filter((r) => r.source === 'generated').length).toBeGreaterThanOrEqual(1);
    expect(await readdir(dir)).toEqual([TLS_DIR]);
    expect(await readFile(join(dir, TLS_DIR, CERT_FILE), 'utf8')).toBe(results[0]?.cert);
  });

  it('tightens a generated key that lost its mode', async () => {
    await ensureServerCertificate(dir);
    await chmod(join(dir, TLS_DIR, KEY_FILE), 0o644);
    await ensureServerCertificate(dir);
    expect((await stat(join(dir, TLS_DIR, KEY_FILE))).mode & 0o777).toBe(0o600);
  });

  it('uses a configured certificate and key, and matches the fingerprint openssl prints', async () => {
    const certFile = join(dir, 'own.crt');
    const keyFile = join(dir, 'own.key');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=own.example', '-keyout', keyFile, '-out', certFile]);
    const material = await ensureServerCertificate(dir, { certFile, keyFile });
    expect(material.source).toBe('configured');
    const { stdout } = await run('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256']);
    expect(stdout.trim().split('=')[1]).toBe(fingerprintAsHex(material.fingerprint));
    // Nothing was generated in the data folder.
    expect((await readdir(dir)).sort()).toEqual(['own.crt', 'own.key']);
  });

  it('refuses half a configuration, a missing file, non-PEM text and a key of another certificate', async () => {
    const other = join(dir, 'other');
    const a = await ensureServerCertificate(join(dir, 'a'));
    const b = await ensureServerCertificate(join(dir, 'b'));
    await expect(ensureServerCertificate(other, { certFile: a.certFile })).rejects.toMatchObject({ code: 'FOS_ERR_CONFIG_INVALID' });
    await expect(ensureServerCertificate(other, { certFile: join(dir, 'none.crt'), keyFile: a.keyFile })).rejects.toMatchObject({
      code: 'FOS_ERR_CONFIG_MISSING',
    });
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a certificate\n');
    await expect(ensureServerCertificate(other, { certFile: junk, keyFile: a.keyFile })).rejects.toMatchObject({ code: 'FOS_ERR_CONFIG_INVALID' });
    await expect(ensureServerCertificate(other, { certFile: a.certFile, keyFile: junk })).rejects.toMatchObject({ code: 'FOS_ERR_CONFIG_INVALID' });
    await expect(ensureServerCertificate(other, { certFile: a.certFile, keyFile: b.keyFile })).rejects.toMatchObject({
      code: 'FOS_ERR_CONFIG_INVALID',
      message: expect.stringContaining('does not belong'),
    });
  });
});

describe('serverTlsOptions', () => {
  it('requires TLS 1.3 unless TLS 1.2 is configured, and nothing older', async () => {
    const material = await ensureServerCertificate(dir);
    expect(serverTlsOptions(material).minVersion).toBe('TLSv1.3');
    expect(serverTlsOptions(material, { minVersion: parseTlsMinVersion('tlsv1.2') }).minVersion).toBe('TLSv1.2');
    expect(() => parseTlsMinVersion('TLSv1.1')).toThrow(expect.objectContaining({ code: 'FOS_ERR_CONFIG_INVALID' }));
    expect(() => parseTlsMinVersion(13)).toThrow(expect.objectContaining({ code: 'FOS_ERR_CONFIG_INVALID' }));
  });
});
