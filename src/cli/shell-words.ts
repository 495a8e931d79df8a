/**
 * The shell's small language: a line split into words (quotes and backslash escapes as a
 * POSIX shell has them, without expansion), and remote paths resolved against the
 * shell's current folder (`..` and `.` are handled here, never sent to the server).
 */
import { FosError } from '../errors.js';
import { normalizeRemotePath } from '../fs/remote-path.js';

/**
 * Splits a command line into words. `"a b"`, `'a b'` and `a\ b` are one word.
 * @throws FosError `FOS_ERR_CLI_USAGE` for an unclosed quote.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i] as string;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new FosError('FOS_ERR_CLI_USAGE', `unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/**
 * A remote path typed in the shell, resolved against the current folder `cwd` (canonical):
 * `/x` starts at the root, `..` goes up (never above the root).
 * @throws FosError `FOS_ERR_PATH_BAD` for a name the server would refuse.
 */
export function resolveRemote(cwd: string, input: string): string {
  const segments = input.startsWith('/') || cwd === '' ? [] : cwd.split('/');
  for (const segment of input.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return normalizeRemotePath(segments.join('/'));
}
