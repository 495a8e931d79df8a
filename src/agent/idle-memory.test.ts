import { describe, expect, it } from 'vitest';
import type { Clock } from '../client/index.js';
import { IdleMemory } from './idle-memory.js';

/** A clock whose timers run when the test says. */
function manualClock(): { clock: Clock; pending: () => number; fire: () => void } {
  const timers = new Set<() => void>();
  const clock: Clock = {
    now: () => 0,
    setTimer: (callback) => {
      timers.add(callback);
      return () => timers.delete(callback);
    },
  };
  return {
    clock,
    pending: () => timers.size,
    fire: () => {
      for (const t of [...timers]) {
        timers.delete(t);
        t();
      }
    },
  };
}

// Issue 8 (M1): full collections a while after the last pass, not one per pass.
describe('IdleMemory', () => {
  it('keeps one collection pending after any number of passes, and none after close', () => {
    const { clock, pending, fire } = manualClock();
    let released = 0;
    const idle = new IdleMemory(clock, () => (released += 1), 10);
    idle.touch();
    idle.touch();
    idle.touch();
    expect(pending()).toBe(1);
    fire();
    // The second collection, a moment after the first.
    expect(pending()).toBe(1);
    fire();
    expect(pending()).toBe(0);
    expect(released).toBe(1);
    idle.touch();
    idle.close();
    expect(pending()).toBe(0);
  });
});
