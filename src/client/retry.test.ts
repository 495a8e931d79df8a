import { describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { backoffMs, isTransient, retry } from './retry.js';
import type { Clock } from './types.js';

/** A clock whose timers fire at once and record what they were asked to wait. */
function instantClock(waits: number[]): Clock {
  return {
    now: () => 0,
    setTimer(callback, ms) {
      waits.push(ms);
      queueMicrotask(callback);
      return () => undefined;
    },
  };
}

describe('backoffMs', () => {
  it('doubles from baseMs, caps at maxMs, and scales only the jitter share', () => {
    const options = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffMs(attempt, 1, options))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffMs(3, 0, options)).toBe(200);
    expect(backoffMs(3, 0, { ...options, jitter: 0 })).toBe(400);
  });
});

describe('retry', () => {
  it('retries transient errors with growing waits and returns the first success', async () => {
    const waits: number[] = [];
    let calls = 0;
    const value = await retry(
      async (attempt) => {
        calls += 1;
        if (attempt < 3) throw new FosError('FOS_ERR_NET_CLOSED', 'dropped');
        return 'done';
      },
      { retries: 3, baseMs: 10, jitter: 0, clock: instantClock(waits) },
    );
    expect(value).toBe('done');
    expect(calls).toBe(3);
    expect(waits).toEqual([10, 20]);
  });

  it('gives up after `retries` and never retries a permanent error', async () => {
    const waits: number[] = [];
    let calls = 0;
    const transient = retry(
      () => {
        calls += 1;
        return Promise.reject(new FosError('FOS_ERR_NET_CONNECT', 'refused'));
      },
      { retries: 2, clock: instantClock(waits) },
    );
    await expect(transient).rejects.toMatchObject({ code: 'FOS_ERR_NET_CONNECT' });
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      retry(
        () => {
          calls += 1;
          return Promise.reject(new FosError('FOS_ERR_AUTH_FAILED', 'no'));
        },
        { retries: 5, clock: instantClock([]) },
      ),
    ).rejects.toMatchObject({ code: 'FOS_ERR_AUTH_FAILED' });
    expect(calls).toBe(1);
  });

  it("waits at least a rate-limited reply's retryMs", async () => {
    const waits: number[] = [];
    let first = true;
    await retry(
      () => {
        if (!first) return Promise.resolve();
        first = false;
        return Promise.reject(new FosError('FOS_ERR_NET_RATE_LIMITED', 'slow down', { details: { retryMs: 5000 } }));
      },
      { baseMs: 10, clock: instantClock(waits) },
    );
    expect(waits).toEqual([5000]);
  });

  it('stops waiting when the signal fires', async () => {
    const controller = new AbortController();
    const never: Clock = { now: () => 0, setTimer: () => () => undefined };
    const pending = retry(() => Promise.reject(new FosError('FOS_ERR_NET_TIMEOUT', 'slow')), { clock: never, signal: controller.signal });
    controller.abort(new FosError('FOS_ERR_CLI_ABORTED', 'interrupted'));
    await expect(pending).rejects.toMatchObject({ code: 'FOS_ERR_CLI_ABORTED' });
  });

  it('knows which errors are transient', () => {
    expect(isTransient(new FosError('FOS_ERR_PROTO_SHUTTING_DOWN', 'x'))).toBe(true);
    expect(isTransient(new FosError('FOS_ERR_STORE_CONFLICT', 'x'))).toBe(false);
    expect(isTransient(new Error('plain'))).toBe(false);
  });
});
