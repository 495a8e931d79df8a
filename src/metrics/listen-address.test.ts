import { describe, expect, it } from 'vitest';
import { DEFAULT_METRICS_HOST, parseListenAddress } from './listen-address.js';

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:9464', '127.0.0.1', 9464],
    ['0.0.0.0:0', '0.0.0.0', 0],
    ['metrics.internal:9100', 'metrics.internal', 9100],
    ['[::1]:9464', '::1', 9464],
    [':9464', DEFAULT_METRICS_HOST, 9464],
  ])('reads %s', (value, host, port) => {
    expect(parseListenAddress(value)).toEqual({ host, port });
  });

  it.each(['9464', '127.0.0.1', '127.0.0.1:', '127.0.0.1:65536', '::1:9464', 'host:port', 'a b:1', ''])(
    'refuses %j with FOS_ERR_CLI_USAGE',
    (value) => {
      expect(() => parseListenAddress(value)).toThrow(expect.objectContaining({ code: 'FOS_ERR_CLI_USAGE' }));
    },
  );
});
