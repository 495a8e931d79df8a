/**
 * Sizes on the command line: a whole number of bytes with an optional binary suffix,
 * `K`, `M`, `G` or `T` (powers of 1024, as `fos` prints sizes), optionally followed by
 * `B` or `iB`: `500M`, `2G`, `1.5GiB`, `4096`.
 */
import { InvalidArgumentError } from 'commander';

const SIZE = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/iu;
const POWERS: Readonly<Record<string, number>> = { '': 0, K: 1, M: 2, G: 3, T: 4 };

/**
 * Parses a size flag into bytes (rounded down to a whole byte).
 * @throws commander's InvalidArgumentError (exit 2) for anything else.
 */
export function parseByteSize(value: string): number {
  const match = SIZE.exec(value.trim());
  const power = POWERS[(match?.[2] ?? '').toUpperCase()];
  if (match === null || power === undefined) throw new InvalidArgumentError('expected a size such as 4096, 500M or 2G');
  const bytes = Math.floor(Number(match[1]) * 1024 ** power);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError('size too large');
  return bytes;
}
