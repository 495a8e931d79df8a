/**
 * Conflict copy names: `report (conflict from laptop 2026-11-24 101502).pdf`, the device
 * that lost and the UTC time of the pass. A copy's name is recognisable, so a conflict on
 * a copy makes a sibling copy of the original name, never a copy of a copy.
 */
import { baseNameOf, joinPath, parentOf } from './path-tree.js';

const COPY_PATTERN = /^(.*) \(conflict from (.+) (\d{4}-\d{2}-\d{2} \d{6})(?: (\d+))?\)(\.[^.\s]{1,16})?$/u;

/** The parts of a conflict copy's name. */
export interface ConflictCopyName {
  /** The path of the file it is a copy of. */
  readonly original: string;
  readonly device: string;
  /** `YYYY-MM-DD HHMMSS`, UTC. */
  readonly stamp: string;
  /** 1 for the first copy of a stamp, 2 and up when that name was taken. */
  readonly counter: number;
}

/** Splits a file name into stem and extension; dot-files and odd tails have no extension. */
export function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return { stem: name, ext: '' };
  const ext = name.slice(dot);
  if (!/^\.[^.\s]{1,16}$/u.test(ext)) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext };
}

/** `YYYY-MM-DD HHMMSS` in UTC. */
export function conflictStamp(now: number): string {
  const d = new Date(now);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`
  );
}

/** A device name made safe for a file name: no separators, parentheses or control characters. */
export function sanitizeDevice(device: string): string {
  const cleaned = device.normalize('NFC').replace(/[/\\()\p{Cc}]/gu, '-').trim();
  return cleaned === '' ? 'unknown' : cleaned;
}

/**
 * The conflict copy path for `path`, in the same folder. The extension rule applies to the
 * last segment only; `counter` > 1 adds a number to tell copies with the same stamp apart.
 * When `path` is itself a conflict copy the copy is named after its original.
 */
export function conflictCopyPath(path: string, device: string, now: number, counter = 1): string {
  const original = parseConflictCopy(path)?.original ?? path;
  const { stem, ext } = splitExtension(baseNameOf(original));
  const suffix = counter > 1 ? ` ${counter}` : '';
  const name = `${stem} (conflict from ${sanitizeDevice(device)} ${conflictStamp(now)}${suffix})${ext}`;
  return joinPath(parentOf(original), name);
}

/** The parts of a conflict copy's path, or null when the name is not one. */
export function parseConflictCopy(path: string): ConflictCopyName | null {
  const name = baseNameOf(path);
  if (!name.includes(' (conflict from ')) return null;
  const match = COPY_PATTERN.exec(name);
  if (match === null) return null;
  const [, stem = '', device = '', stamp = '', counter, ext = ''] = match;
  if (stem === '') return null;
  return {
    original: joinPath(parentOf(path), `${stem}${ext}`),
    device,
    stamp,
    counter: counter === undefined ? 1 : Number(counter),
  };
}

/** True when the path's name is a conflict copy name. */
export function isConflictCopy(path: string): boolean {
  return parseConflictCopy(path) !== null;
}
