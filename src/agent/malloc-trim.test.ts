import { describe, expect, it } from 'vitest';
import { mallocTrim } from './malloc-trim.js';

/** True on Linux with glibc, where malloc_trim exists. */
function hasGlibc(): boolean {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } }).header;
  return process.platform === 'linux' && typeof header?.glibcVersionRuntime === 'string';
}

// Issue 8 (M1): the idle agent hands the malloc heap's free pages back.
describe('mallocTrim', () => {
  it('is there on glibc (and only there), and can be called any number of times', () => {
    const trim = mallocTrim();
    expect(trim !== null).toBe(hasGlibc());
    trim?.();
    trim?.();
    expect(mallocTrim()).toBe(trim);
  });
});
