/**
 * The real clock and the waiting helpers built on any clock: a sleep and a timeout that
 * both honour an AbortSignal.
 */
import { FosError } from '../errors.js';
import type { Clock } from './types.js';

/** The system clock. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimer(callback: () => void, ms: number): () => void {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
});

/** The error an aborted wait rejects with: the signal's reason when it is a FosError. */
export function abortError(signal: AbortSignal): FosError {
  const reason: unknown = signal.reason;
  if (reason instanceof FosError) return reason;
  return new FosError('FOS_ERR_CLI_ABORTED', 'operation aborted', { cause: reason });
}

/** Throws `abortError(signal)` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal);
}

/**
 * Resolves after `ms` on `clock`.
 * @throws FosError from `abortError` when the signal fires first.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(abortError(signal as AbortSignal));
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
