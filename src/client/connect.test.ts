import { describe, expect, it } from 'vitest';
import { formatAddress, parseServerAddress } from './connect.js';

describe('parseServerAddress', () => {
  it('reads host:port, [IPv6]:port and a bare host', () => {
    expect(parseServerAddress('127.0.0.1:9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseServerAddress('files.example.net')).toEqual({ host: 'files.example.net', port: 12345 });
    expect(parseServerAddress('[::1]:7')).toEqual({ host: '::1', port: 7 });
    expect(formatAddress({ host: '::1', port: 7 })).toBe('[::1]:7');
  });

  it('refuses what is not an address, as a usage error', () => {
    for (const text of ['', 'host:', 'host:0', 'host:65536', 'a b:1', '::1:80', 'host:12x']) {
      expect(() => parseServerAddress(text), text).toThrow(expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }));
    }
  });
});
