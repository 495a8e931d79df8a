import { describe, expect, it } from 'vitest';
import { UserLocks } from './user-lock.js';

describe('UserLocks', () => {
  it('forgets a user once nothing is running or queued', async () => {
    const locks = new UserLocks();
    let release!: () => void;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const held = locks.run('a', () => {
      started();
      return new Promise<void>((r) => (release = r));
    });
    const queued = locks.run('a', async () => 'second');
    await running;
    expect(locks.busyUsers).toBe(1);
    release();
    await held;
    expect(await queued).toBe('second');
    expect(locks.busyUsers).toBe(0);
  });

  it('runs queued work in call order', async () => {
    const locks = new UserLocks();
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((n) => locks.run('u', async () => void order.push(n))));
    expect(order).toEqual([1, 2, 3, 4]);
    expect(locks.busyUsers).toBe(0);
  });
});
