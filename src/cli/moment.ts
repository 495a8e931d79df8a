/**
 * A moment as a person types it on the command line (`fos restore --at`): an ISO 8601
 * date-time, with a zone or in local time, or a time ago (`2h`, `3d`, `1d12h`). Input that
 * could mean two moments is refused rather than guessed: a bare number (seconds or
 * milliseconds?), a date without a time, a local time the clocks pass twice or skip.
 */
import { FosError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const AGO = /^(?:\d{1,9}[smhdw])+(?: ago)?$/u;
const AGO_PART = /(\d{1,9})([smhdw])/gu;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/u;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/u;
const NUMBER = /^[+-]?\d+(?:\.\d*)?$/u;
const DAY_MS = 86_400_000;

const HOW = 'give an ISO 8601 date-time (2026-11-24T10:15:02Z, or local time without the Z) or a time ago (2h, 3d, 1d12h)';

function usage(message: string): FosError {
  return new FosError('FOS_ERR_CLI_USAGE', message);
}

/**
 * The moment `text` names, in ms since the epoch; relative forms count back from `nowMs`.
 * @throws FosError `FOS_ERR_CLI_USAGE` (exit 2) for input that is not a moment, could be
 * two, or lies in the future.
 */
export function parseMoment(text: string, nowMs: number): number {
  const input = text.trim();
  let at: number;
  if (AGO.test(input)) {
    let agoMs = 0;
    for (const [, amount, unit] of input.matchAll(AGO_PART)) agoMs += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
    at = nowMs - agoMs;
  } else if (NUMBER.test(input)) {
    throw usage(`${JSON.stringify(text)} is ambiguous: seconds or milliseconds since 1970? ${HOW}`);
  } else if (DATE_ONLY.test(input)) {
    throw usage(`${JSON.stringify(text)} has no time of day; say which, e.g. ${input}T00:00 (local) or ${input}T00:00Z (UTC)`);
  } else {
    at = parseDateTime(input, text);
  }
  if (!Number.isSafeInteger(at) || at < 0) throw usage(`${JSON.stringify(text)} is before 1970`);
  if (at > nowMs) throw usage(`${JSON.stringify(text)} is in the future (it is ${new Date(nowMs).toISOString()} now)`);
  return at;
}

function parseDateTime(input: string, text: string): number {
  const match = DATE_TIME.exec(input);
  if (match === null) throw usage(`${JSON.stringify(text)} is not a moment: ${HOW}`);
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, offH, offM] = match;
  const fields = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s ?? 0),
    ms: Math.trunc(Number(`0.${fraction ?? '0'}`) * 1000),
  };
  const wallUtc = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second, fields.ms);
  const check = new Date(wallUtc);
  const isValid =
    fields.year >= 1970 &&
    check.getUTCFullYear() === fields.year &&
    check.getUTCMonth() === fields.month - 1 &&
    check.getUTCDate() === fields.day &&
    check.getUTCHours() === fields.hour &&
    check.getUTCMinutes() === fields.minute &&
    check.getUTCSeconds() === fields.second;
  if (!isValid) throw usage(`${JSON.stringify(text)} is not a valid date and time`);
  if (zulu !== undefined) return wallUtc;
  if (sign !== undefined) {
    const minutes = Number(offH) * 60 + Number(offM ?? 0);
    if (Number(offH) > 23 || Number(offM ?? 0) > 59) throw usage(`${JSON.stringify(text)} has an impossible zone offset`);
    return wallUtc - (sign === '+' ? 1 : -1) * minutes * 60_000;
  }
  return localMoment(wallUtc, text);
}

/**
 * The instant whose local wall-clock time is `wallUtc` (that wall time read as if UTC).
 * Around a daylight-saving change a wall time may name two instants or none: refused.
 */
function localMoment(wallUtc: number, text: string): number {
  // Every zone offset in force within a day of the moment; each gives a candidate
  // instant, which counts when the zone really has that offset then.
  const offsets = new Set([-DAY_MS, 0, DAY_MS].map((shift) => new Date(wallUtc + shift).getTimezoneOffset()));
  const instants = [...offsets].map((offset) => wallUtc + offset * 60_000).filter((at) => new Date(at).getTimezoneOffset() * 60_000 === at - wallUtc);
  if (instants.length === 1 && instants[0] !== undefined) return instants[0];
  if (instants.length === 0) throw usage(`${JSON.stringify(text)} does not exist in the local time zone (the clocks skipped it); add a zone, e.g. Z or +01:00`);
  throw usage(`${JSON.stringify(text)} happens twice in the local time zone (the clocks went back); add a zone, e.g. Z or +01:00`);
}
