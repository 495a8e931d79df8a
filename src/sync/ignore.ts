/**
 * Which paths the sync leaves alone: fos's own files (always), default temporary-file
 * patterns, the config's patterns and the folder's `.fosignore`, in gitignore syntax
 * through the `ignore` package. Later rules win, so `.fosignore` can re-include a default
 * with `!pattern`; fos's own files cannot be re-included.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';
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

/** Where an ignore rule comes from. */
export type IgnoreSource = 'fos' | 'default' | 'config' | '.fosignore';

/** The rule that ignores a path (`fos status --why`): the last one to match, as `git check-ignore -v` reports. */
export interface IgnoreMatch {
  readonly pattern: string;
  readonly source: IgnoreSource;
}

/** Answers whether a relative sync path is ignored, and by which rule. */
export interface IgnoreMatcher {
  /** True when `relPath` ('/'-separated, relative to the folder root) is ignored. */
  isIgnored(relPath: string, isDir: boolean): boolean;
  /** The rule that ignores `relPath` (or the folder above it that is ignored), or null. */
  explain(relPath: string, isDir: boolean): IgnoreMatch | null;
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
  const marked = (patterns: readonly string[], mark: IgnoreSource) => patterns.map((pattern) => ({ pattern, mark }));
  const build = (): { own: Ignore; rules: Ignore } => {
    const own = ignore({ ignorecase }).add(marked(FOS_OWN_PATTERNS, 'fos'));
    const rules = ignore({ ignorecase });
    if (sources.noDefaults !== true) rules.add(marked(DEFAULT_IGNORES, 'default'));
    if (sources.patterns !== undefined) rules.add(marked(sources.patterns, 'config'));
    // One pattern per line, as `ignore` splits a text itself, so each keeps its source.
    if (sources.fosignore !== undefined) rules.add(marked(sources.fosignore.split(/\r?\n/u), IGNORE_FILE));
    return { own, rules };
  };
  // `ignore` keeps every answer it gave, per path, for good: over 100,000 files that was
  // 20 MB of an idle agent (issue 8, M1). The matchers start afresh every so many answers.
  let matchers = build();
  let answers = 0;
  const current = (): { own: Ignore; rules: Ignore } => {
    if (++answers > MAX_REMEMBERED_ANSWERS) {
      matchers = build();
      answers = 0;
    }
    return matchers;
  };
  const candidate = (relPath: string, isDir: boolean): string => (isDir ? `${relPath}/` : relPath);
  return {
    isIgnored(relPath: string, isDir: boolean): boolean {
      if (relPath === '') return false;
      const { own, rules } = current();
      return own.ignores(candidate(relPath, isDir)) || rules.ignores(candidate(relPath, isDir));
    },
    explain(relPath: string, isDir: boolean): IgnoreMatch | null {
      if (relPath === '') return null;
      const { own, rules } = current();
      for (const matcher of [own, rules]) {
        const rule = matcher.test(candidate(relPath, isDir)).rule;
        if (rule !== undefined) return { pattern: rule.pattern, source: sourceOf(rule.mark) };
      }
      return null;
    },
  };
}

/** Answers the matchers give before they start afresh (each keeps them all). */
const MAX_REMEMBERED_ANSWERS = 10_000;

function sourceOf(mark: string | undefined): IgnoreSource {
  return mark === 'fos' || mark === 'default' || mark === 'config' || mark === IGNORE_FILE ? mark : 'config';
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
