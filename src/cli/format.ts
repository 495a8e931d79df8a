/**
 * How the command line shows entries and sizes, for people (`-l`) and for scripts
 * (`--json`, whose shapes docs/cli.md documents).
 */
import type { Entry } from '../protocol/types.js';
import type { HeldReport } from '../sync/engine-types.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `1.5 MiB`: binary units, one decimal above bytes. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** An entry as `--json` prints it: the entry's fields plus `name` and an ISO `mtime`. */
export interface EntryJson {
  readonly path: string;
  readonly name: string;
  readonly kind: 'file' | 'dir';
  readonly size: number;
  readonly mtimeMs: number;
  readonly mtime: string;
  readonly sha256: string;
  readonly rev: number;
  readonly deleted: boolean;
}

/** The JSON shape of an entry. */
export function entryJson(entry: Entry): EntryJson {
  const slash = entry.path.lastIndexOf('/');
  return {
    path: entry.path,
    name: slash < 0 ? entry.path : entry.path.slice(slash + 1),
    kind: entry.kind,
    size: entry.size,
    mtimeMs: entry.mtimeMs,
    mtime: new Date(entry.mtimeMs).toISOString(),
    sha256: entry.sha256,
    rev: entry.rev,
    deleted: entry.deleted,
  };
}

/** `YYYY-MM-DD HH:MM` in UTC, fixed width. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * Long listing lines: kind, size, mtime, revision, name (folders end in `/`), aligned.
 * `name` gives the text shown for each entry.
 */
export function formatLong(entries: readonly Entry[], name: (entry: Entry) => string): string[] {
  const sizes = entries.map((entry) => (entry.kind === 'dir' ? '-' : String(entry.size)));
  const revs = entries.map((entry) => `r${entry.rev}`);
  const sizeWidth = Math.max(0, ...sizes.map((s) => s.length));
  const revWidth = Math.max(0, ...revs.map((s) => s.length));
  return entries.map((entry, i) => {
    const kind = entry.kind === 'dir' ? 'd' : '-';
    const shown = entry.kind === 'dir' ? `${name(entry)}/` : name(entry);
    return `${kind} ${(sizes[i] ?? '').padStart(sizeWidth)}  ${formatTime(entry.mtimeMs)}  ${(revs[i] ?? '').padStart(revWidth)}  ${shown}`;
  });
}

/** Short listing: names, folders with a trailing `/`. */
export function formatShort(entries: readonly Entry[], name: (entry: Entry) => string): string[] {
  return entries.map((entry) => (entry.kind === 'dir' ? `${name(entry)}/` : name(entry)));
}

/**
 * One batch of held deletions in words, with what to do about it: `fos sync` says
 * "N deletions held as batch ID", `fos status` "N deletions held (batch ID)".
 */
export function formatHeld(held: HeldReport, style: 'sync' | 'status'): string {
  const where = held.side === 'remote' ? 'deleted here, kept on the server' : 'deleted on the server, kept here';
  if (held.batchId === null) {
    return `${held.count} deletions held (${where}), not recorded on the server${held.error === null ? '' : `: ${held.error}`}; \`fos sync --force\` carries them out`;
  }
  const id = held.batchId;
  const name = style === 'sync' ? `held as batch ${id}` : `held (batch ${id})`;
  return `${held.count} deletions ${name}: fos deletions approve ${id} / reject ${id} (${where})`;
}
