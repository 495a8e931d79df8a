import { afterEach, describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { parseMoment } from './moment.js';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const savedTz = process.env['TZ'];

afterEach(() => {
  if (savedTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = savedTz;
});

function refusal(text: string, now = NOW): string {
  try {
    parseMoment(text, now);
  } catch (err) {
    if (err instanceof FosError && err.code === 'FOS_ERR_CLI_USAGE') return err.message;
    throw err;
  }
  throw new Error(`${text} was accepted`);
}

describe('parseMoment', () => {
  it('reads ISO 8601 date-times with a zone', () => {
    expect(parseMoment('2026-11-24T10:15:02Z', NOW)).toBe(Date.UTC(2026, 10, 24, 10, 15, 2));
    expect(parseMoment('2026-11-24T10:15:02.25Z', NOW)).toBe(Date.UTC(2026, 10, 24, 10, 15, 2, 250));
    expect(parseMoment('2026-11-24 10:15z', NOW)).toBe(Date.UTC(2026, 10, 24, 10, 15));
    expect(parseMoment('2026-11-24T11:15:02+01:00', NOW)).toBe(Date.UTC(2026, 10, 24, 10, 15, 2));
    expect(parseMoment('2026-11-24T05:45-0430', NOW)).toBe(Date.UTC(2026, 10, 24, 10, 15));
  });

  it('reads a date-time without a zone as local time', () => {
    process.env['TZ'] = 'America/New_York';
    expect(parseMoment('2026-11-24T05:15:02', NOW)).toBe(Date.UTC(2026, 10, 24, 10, 15, 2));
    process.env['TZ'] = 'UTC';
    expect(parseMoment('2026-11-24T05:15:02', NOW)).toBe(Date.UTC(2026, 10, 24, 5, 15, 2));
  });

  it('refuses a local time the clocks skip or pass twice', () => {
    process.env['TZ'] = 'Europe/Berlin';
    expect(refusal('2026-03-29T02:30')).toMatch(/does not exist/);
    expect(refusal('2026-10-25T02:30')).toMatch(/happens twice/);
    expect(parseMoment('2026-10-25T02:30+01:00', NOW)).toBe(Date.UTC(2026, 9, 25, 1, 30));
    expect(parseMoment('2026-10-25T03:30', NOW)).toBe(Date.UTC(2026, 9, 25, 2, 30));
  });

  it('reads times ago', () => {
    expect(parseMoment('2h', NOW)).toBe(NOW - 2 * 3_600_000);
    expect(parseMoment('3d', NOW)).toBe(NOW - 3 * 86_400_000);
    expect(parseMoment('1d12h', NOW)).toBe(NOW - 36 * 3_600_000);
    expect(parseMoment('90m ago', NOW)).toBe(NOW - 90 * 60_000);
    expect(parseMoment('1w', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseMoment('0s', NOW)).toBe(NOW);
  });

  it('refuses bare numbers, which could be seconds or milliseconds', () => {
    expect(refusal('1764000000')).toMatch(/ambiguous/);
    expect(refusal('1764000000000')).toMatch(/ambiguous/);
    expect(refusal('1764000000.5')).toMatch(/ambiguous/);
  });

  it('refuses a date without a time, impossible dates and garbage', () => {
    expect(refusal('2026-11-24')).toMatch(/no time of day/);
    expect(refusal('2026-02-30T10:00Z')).toMatch(/not a valid date/);
    expect(refusal('2026-11-24T24:00Z')).toMatch(/not a valid date/);
    expect(refusal('2026-11-24T10:00+25:00')).toMatch(/zone offset/);
    expect(refusal('yesterday')).toMatch(/not a moment/);
    expect(refusal('2H')).toMatch(/not a moment/);
    expect(refusal('')).toMatch(/not a moment/);
  });

  it('refuses the future and times before 1970', () => {
    expect(refusal('2026-11-24T12:00:01Z')).toMatch(/future/);
    expect(parseMoment('2026-11-24T12:00:00Z', NOW)).toBe(NOW);
    expect(refusal('1969-12-31T23:59Z')).toMatch(/not a valid date|before 1970/);
    expect(refusal('60000w')).toMatch(/before 1970/);
  });
});
