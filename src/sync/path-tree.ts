/**
 * Pure helpers over relative sync paths ('/'-separated, no leading slash): parents,
 * subtrees and the one ordering every plan uses.
 */

/** Code-unit order: the same on every machine and locale, parents before children. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The parent folder of a path, '' for a top-level name. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

/** The last segment of a path. */
export function baseNameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a folder ('' for the root) and a relative path. */
export function joinPath(dir: string, rest: string): string {
  return dir === '' ? rest : `${dir}/${rest}`;
}

/** `path` relative to the folder `root` ('' holds everything); null at or outside `root`. */
export function relativeTo(root: string, path: string): string | null {
  if (root === '') return path === '' ? null : path;
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : null;
}

/** Number of segments. */
export function depthOf(path: string): number {
  let depth = 1;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) depth++;
  return depth;
}

/** True when `path` is `dir` or lies below it. */
export function isAtOrUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** Every proper ancestor of a path, nearest first. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  let current = parentOf(path);
  while (current !== '') {
    out.push(current);
    current = parentOf(current);
  }
  return out;
}

const ASCII = /^[\x00-\x7f]*$/u;

/** The NFC form of a path; ASCII (the common case) is returned as is, without the cost. */
export function toNfc(path: string): string {
  return ASCII.test(path) ? path : path.normalize('NFC');
}

/** The key two names share when they would be one name on disk. */
export function foldKey(path: string, caseInsensitive: boolean): string {
  const nfc = toNfc(path);
  return caseInsensitive ? toNfc(nfc.toLowerCase()) : nfc;
}

/** Sorts paths in place in code-unit order (the default sort order of strings). */
export function sortPaths(paths: string[]): string[] {
  return paths.sort();
}

/** A sorted snapshot of paths with fast subtree queries. */
export class SortedPaths {
  readonly #keys: string[];

  constructor(keys: Iterable<string>) {
    this.#keys = sortPaths([...keys]);
  }

  /** The paths strictly below `dir`, in order. */
  below(dir: string): string[] {
    const prefix = `${dir}/`;
    const out: string[] = [];
    for (let i = this.#lowerBound(prefix); i < this.#keys.length; i++) {
      const key = this.#keys[i] as string;
      if (!key.startsWith(prefix)) break;
      out.push(key);
    }
    return out;
  }

  /** How many paths lie strictly below `dir`. */
  countBelow(dir: string): number {
    const prefix = `${dir}/`;
    const start = this.#lowerBound(prefix);
    // '0' is the code unit right after '/', so every key with the prefix sorts before it.
    const end = this.#lowerBound(`${dir}0`);
    return Math.max(0, end - start);
  }

  /** True when any path lies strictly below `dir`. */
  hasBelow(dir: string): boolean {
    const prefix = `${dir}/`;
    const key = this.#keys[this.#lowerBound(prefix)];
    return key !== undefined && key.startsWith(prefix);
  }

  #lowerBound(target: string): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#keys[mid] as string) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
