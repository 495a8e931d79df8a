/**
 * glibc's `malloc_trim(0)`, reached through koffi (a foreign-function library with
 * prebuilt binaries): it hands the free pages inside the malloc heap back to the system.
 * A pass over a large folder leaves that heap full of freed holes that glibc only returns
 * from its top, and Node has no binding for the call (issue 8, M1: an idle agent over
 * 100,000 files went from 216 MB to 144 MB resident with it). Where there is no glibc
 * (macOS, musl, Windows) or koffi cannot load, there is nothing to call.
 */
import { createRequire } from 'node:module';

let trim: (() => void) | null | undefined;

/** Runs `malloc_trim(0)`, or returns null when this system has no such call. */
export function mallocTrim(): (() => void) | null {
  if (trim !== undefined) return trim;
  trim = null;
  if (process.platform !== 'linux') return trim;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    // The glibc soname; musl has none by that name, and loading it then fails.
    const call = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');
    trim = (): void => {
      call(0);
    };
  } catch {
    // No glibc, or no koffi binary for this platform: memory is returned as malloc sees fit.
  }
  return trim;
}
