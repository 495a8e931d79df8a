import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it('reads bytes and binary suffixes', () => {
    expect(parseByteSize('0')).toBe(0);
    expect(parseByteSize('4096')).toBe(4096);
    expect(parseByteSize('10K')).toBe(10 * 1024);
    expect(parseByteSize('500M')).toBe(500 * 1024 ** 2);
    expect(parseByteSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('1T')).toBe(1024 ** 4);
    expect(parseByteSize('2g')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('3MB')).toBe(3 * 1024 ** 2);
    expect(parseByteSize('7B')).toBe(7);
  });

  it('refuses anything else as a usage error', () => {
    for (const bad of ['', 'M', '-1', '1X', '1 2', '1e3', '2GG', '9999999999T']) {
      expect(() => parseByteSize(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});
