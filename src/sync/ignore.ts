/**
 * Which paths the sync leaves alone: fos's own files (always), default temporary-file
 * patterns, the config's patterns and the folder's `.fosignore`, in gitignore syntax
 * through the `ignore` package. Later rules win, so `.fosignore` can re-include a default
 * with `!pattern`; fos's own files cannot be re-included.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore from 'ignore';
import { errnoCode, FosError } from '../errors.js';

/** The name of the per-folder ignore file. */
export const IGNORE_FILE = '.fosignore';

/** fos's temporary files and the per-folder id folder: never synced, whatever the rules say. */
export const FOS_OWN_PATTERNS: readonly string[] = Object.freeze(['.fos-tmp-*', '.fos/']);

/** Editor, office and system leftovers nobody wants synced (DESIGN.md "Sync semantics"). */
export const DEFAULT_IGNORES: readonly string[] = Object.freeze([
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  '*.swp',
  '*.swx',
  '*~',
  '~$*',
  '.~lock.*#',
  '*.part',
]);

/** Answers whether a relative sync path is ignored. */
export interface IgnoreMatcher {
  /** True when `relPath` ('/'-separated, relative to the folder root) is ignored. */
  isIgnored(relPath: string, isDir: boolean): boolean;
}

/** Where the rules come from. */
export interface IgnoreSources {
  /** Patterns from the config, after the defaults. */
  readonly patterns?: readonly string[];
  /** The text of `.fosignore`, applied last. */
  readonly fosignore?: string;
  /** Match case-insensitively (for case-insensitive folders). Default false. */
  readonly caseInsensitive?: boolean;
  /** Leave out DEFAULT_IGNORES. Default false. */
  readonly noDefaults?: boolean;
}

/** Builds a matcher from patterns and `.fosignore` text. Pure. */
export function createIgnoreMatcher(sources: IgnoreSources = {}): IgnoreMatcher {
  const ignorecase = sources.caseInsensitive ?? false;
  const own = ignore({ ignorecase }).add([...FOS_OWN_PATTERNS]);
  const rules = ignore({ ignorecase });
  if (sources.noDefaults !== true) rules.add([...DEFAULT_IGNORES]);
  if (sources.patterns !== undefined) rules.add([...sources.patterns]);
  if (sources.fosignore !== undefined) rules.add(sources.fosignore);
  return {
    isIgnored(relPath: string, isDir: boolean): boolean {
      if (relPath === '') return false;
      const candidate = isDir ? `${relPath}/` : relPath;
      return own.ignores(candidate) || rules.ignores(candidate);
    },
  };
}

/**
 * Builds the matcher for a folder: reads `<root>/.fosignore` when there is one.
 * Throws FosError `FOS_ERR_SYNC_LOCAL_IO` when the file exists but cannot be read.
 */
export async function loadIgnoreMatcher(root: string, sources: Omit<IgnoreSources, 'fosignore'> = {}): Promise<IgnoreMatcher> {
  let fosignore: string | undefined;
  try {
    fosignore = await readFile(join(root, IGNORE_FILE), 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') {
      throw new FosError('FOS_ERR_SYNC_LOCAL_IO', `cannot read ${IGNORE_FILE}: ${String(errnoCode(err) ?? err)}`, { cause: err });
    }
  }
  return createIgnoreMatcher(fosignore === undefined ? sources : { ...sources, fosignore });
}
