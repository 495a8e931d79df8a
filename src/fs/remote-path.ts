/**
 * Remote paths: the one canonical spelling of a path inside a user's root on the server.
 *
 * Pure: no fs, no clock. Every path that arrives from a peer, the CLI or the disk goes
 * through `normalizeRemotePath` before it is stored, compared or joined under a root
 * (DESIGN.md "Security": `..`, absolute paths, NUL and control characters, backslashes,
 * drive letters and over-long names are refused).
 *
 * Rules, in the order they are checked:
 * - the root is `''`; a single trailing `/` is trimmed; a leading `/` (absolute) is refused;
 * - refused anywhere: backslash, NUL and every C0/C1 control and DEL, unpaired UTF-16
 *   surrogates, bidirectional override/embedding/isolate controls (they make a name display
 *   as something else), and Unicode look-alikes of `/` and `\`;
 * - the path is normalised to NFC; each segment must be non-empty (`a//b` is refused), not
 *   `.` or `..`, not made only of dots and dot look-alikes (`...`, `．．`, `․`), not made only
 *   of spaces, not in drive-letter form (`C:`, `c:x`), not a fos temporary name
 *   (`.fos-tmp-*`, any case), and at most 255 UTF-8 bytes;
 * - the whole path is at most 4096 UTF-8 bytes.
 *
 * Percent signs are plain characters: fos never decodes `%2e%2e`, so it is a legal literal
 * name that stays inside the root. Leading and trailing spaces inside a segment are kept.
 */
import { FosError } from '../errors.js';

/** Longest segment (file or folder name), in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;
/** Longest whole remote path, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;
/** Name prefix of fos's own temporary files; never a legal remote name. */
export const TEMP_PREFIX = '.fos-tmp-';

// C0 controls, DEL, C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// Unpaired surrogates cannot be encoded as UTF-8 and would silently become U+FFFD.
const LONE_SURROGATE = /\p{Cs}/u;
// Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI, ALM).
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069\u061c]/u;
/**
 * Characters that look like a slash or a backslash. A name containing one would show up as
 * a path with folders that do not exist, and some tools fold them to the ASCII separator.
 */
const SEPARATOR_LOOKALIKE =
  /[\u2044\u2215\u2216\u2571\u2572\u27cb\u27cd\u29f5\u29f8\u29f9\u2f03\u3033\ufe68\uff0f\uff3c\u1735]/u;
/**
 * Dots and characters that look like dots. A segment made only of these (after removing
 * spaces, combining marks and invisible format characters) reads as `.` or `..`.
 */
const DOT_LIKE = /^[.\u00b7\u0701\u0702\u2024\u2025\u2026\u2027\u2219\u22c5\u2e31\u3002\ufe52\uff0e\uff61\ua4f8]+$/u;
const DOT_NOISE = /[\s\p{M}\p{Cf}]/gu;
const DRIVE = /^[A-Za-z]:/u;
const ONLY_SPACES = /^\s+$/u;

const encoder = new TextEncoder();

function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

function refuse(input: string, reason: string): never {
  const shown = input.length > 80 ? `${input.slice(0, 80)}...` : input;
  return fail(`bad path ${JSON.stringify(shown)}: ${reason}`, reason);
}

function fail(message: string, reason: string): never {
  throw new FosError('FOS_ERR_PATH_BAD', message, { details: { reason } });
}

/**
 * Checks one segment of an already NFC-normalised path; returns the reason it is refused,
 * or undefined when it is a legal name.
 */
function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'empty segment (two slashes in a row)';
  if (segment === '.' || segment === '..') return `'${segment}' segments are not allowed`;
  if (ONLY_SPACES.test(segment)) return 'a name made only of spaces is not allowed';
  const visible = segment.replace(DOT_NOISE, '');
  if (visible === '') return 'a name without visible characters is not allowed';
  if (DOT_LIKE.test(visible)) return 'a name made only of dots or dot look-alikes is not allowed';
  if (DRIVE.test(segment)) return 'drive letters are not allowed';
  if (segment.toLowerCase().startsWith(TEMP_PREFIX)) {
    return `names starting with '${TEMP_PREFIX}' are reserved for fos temporary files`;
  }
  if (utf8Bytes(segment) > MAX_NAME_BYTES) return `a name is longer than ${MAX_NAME_BYTES} UTF-8 bytes`;
  return undefined;
}

/**
 * Returns the canonical form of a remote path: NFC, '/'-separated, relative to the user's
 * root, no leading or trailing '/', and `''` for the root. Idempotent.
 * @throws FosError `FOS_ERR_PATH_BAD` with a message that says why, for every rule above.
 */
export function normalizeRemotePath(input: string): string {
  if (typeof input !== 'string') fail('bad path: not a string', 'not a string');
  // Bound the work before normalising: NFC shrinks text at most threefold (Hangul jamo), so
  // an input this long cannot come out under the limit.
  if (input.length > MAX_PATH_BYTES * 4) refuse(input, `the path is longer than ${MAX_PATH_BYTES} UTF-8 bytes`);
  if (input === '') return '';
  if (input.startsWith('/')) refuse(input, "absolute paths are not allowed (leading '/')");
  if (input.includes('\\')) refuse(input, 'backslashes are not allowed');
  if (CONTROL.test(input)) refuse(input, 'control characters (including NUL and DEL) are not allowed');
  if (LONE_SURROGATE.test(input)) refuse(input, 'the path is not valid Unicode (unpaired surrogate)');
  if (BIDI_CONTROL.test(input)) refuse(input, 'bidirectional control characters are not allowed');
  if (SEPARATOR_LOOKALIKE.test(input)) refuse(input, 'characters that look like a slash are not allowed');
  const trimmed = input.endsWith('/') ? input.slice(0, -1) : input;
  const path = trimmed.normalize('NFC');
  for (const segment of path.split('/')) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) refuse(input, problem);
  }
  if (utf8Bytes(path) > MAX_PATH_BYTES) refuse(input, `the path is longer than ${MAX_PATH_BYTES} UTF-8 bytes`);
  return path;
}

/**
 * True when `input` is already a legal remote path in canonical form.
 * Never throws.
 */
export function isCanonicalRemotePath(input: string): boolean {
  try {
    return normalizeRemotePath(input) === input;
  } catch {
    // A refused path is simply not canonical; the reason is not needed here.
    return false;
  }
}

/**
 * Joins remote path parts ('' parts are skipped) and normalises the result.
 * @throws FosError `FOS_ERR_PATH_BAD` when the joined path is not legal.
 */
export function joinRemote(...parts: readonly string[]): string {
  return normalizeRemotePath(parts.filter((part) => part !== '').join('/'));
}

/** The folder holding a canonical remote path; `''` for top-level names and for the root. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The last segment of a canonical remote path; `''` for the root. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * True when canonical `path` lies strictly below canonical `folder` (not equal to it).
 * Segment-aware: `ab/c` is not inside `a`. Everything but the root is inside `''`.
 */
export function isInside(folder: string, path: string): boolean {
  if (folder === '') return path !== '';
  return path.length > folder.length + 1 && path.startsWith(folder) && path[folder.length] === '/';
}
