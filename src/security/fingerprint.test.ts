import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { generate } from 'selfsigned';
import { beforeAll, describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { FINGERPRINT_PREFIX, fingerprintAsHex, fingerprintOf, fingerprintOfDer, parseFingerprint } from './fingerprint.js';

let certPem = '';

beforeAll(async () => {
  certPem = (await generate([{ name: 'commonName', value: 'fos-test' }], { keyType: 'ec', algorithm: 'sha256' })).cert;
});

describe('fingerprintOf', () => {
  it('is SHA256: and the unpadded base64 of the DER digest, the same digest openssl prints as hex', () => {
    const fp = fingerprintOf(certPem);
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprintAsHex(fp)).toBe(new X509Certificate(certPem).fingerprint256);
  });

  it('gives the same answer for PEM text and the DER bytes', () => {
    const der = new X509Certificate(certPem).raw;
    expect(fingerprintOf(der)).toBe(fingerprintOf(certPem));
    expect(fingerprintOfDer(der)).toBe(fingerprintOf(certPem));
  });

  it('refuses text that is not a certificate', () => {
    expect(() => fingerprintOf('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow(FosError);
  });
});

describe('parseFingerprint', () => {
  it('accepts the base64 form, with or without padding, and the hex forms openssl prints', () => {
    const fp = fingerprintOf(certPem);
    const hex = fingerprintAsHex(fp);
    expect(parseFingerprint(fp)).toBe(fp);
    expect(parseFingerprint(`${fp}=`)).toBe(fp);
    expect(parseFingerprint(`  ${fp}\n`)).toBe(fp);
    expect(parseFingerprint(hex)).toBe(fp);
    expect(parseFingerprint(hex.toLowerCase().replace(/:/g, ''))).toBe(fp);
    expect(parseFingerprint(`sha256 Fingerprint=${hex}`)).toBe(fp);
    expect(parseFingerprint(`SHA256:${hex}`)).toBe(fp);
  });

  it('round-trips any 32-byte digest through both notations', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const fp = `${FINGERPRINT_PREFIX}${Buffer.from(bytes).toString('base64').replace(/=+$/, '')}`;
        expect(parseFingerprint(fp)).toBe(fp);
        expect(parseFingerprint(fingerprintAsHex(fp))).toBe(fp);
      }),
    );
  });

  it('throws FOS_ERR_CLI_USAGE for anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        const trimmed = text.trim();
        const looksValid = /^(sha256:)?[A-Za-z0-9+/]{43}=?$/i.test(trimmed) || /^(sha256:)?([0-9a-f]{2}:?){32}$/i.test(trimmed);
        fc.pre(!looksValid);
        expect(() => parseFingerprint(text)).toThrow(expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }));
      }),
    );
    expect(() => parseFingerprint('SHA256:short')).toThrow(FosError);
    expect(() => parseFingerprint('MD5:aa:bb')).toThrow(FosError);
  });
});
