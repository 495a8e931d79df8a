import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectionLimits } from './conn-limits.js';

describe('ConnectionLimits', () => {
  it('refuses past the per-address limit while other addresses still get slots', () => {
    const limits = new ConnectionLimits({ maxTotal: 10, maxPerIp: 2 });
    expect(limits.tryAcquire('10.0.0.1')).toBe(true);
    expect(limits.tryAcquire('::ffff:10.0.0.1')).toBe(true);
    expect(limits.acquire('10.0.0.1')).toBe('per-ip');
    expect(limits.tryAcquire('10.0.0.2')).toBe(true);
    expect(limits.total).toBe(3);
    limits.release('10.0.0.1');
    expect(limits.tryAcquire('10.0.0.1')).toBe(true);
  });

  it('refuses past the total limit', () => {
    const limits = new ConnectionLimits({ maxTotal: 3, maxPerIp: 3 });
    for (const ip of ['a', 'b', 'c']) expect(limits.tryAcquire(ip)).toBe(true);
    expect(limits.acquire('d')).toBe('total');
    limits.release('b');
    expect(limits.tryAcquire('d')).toBe(true);
  });

  it('ignores a release without an acquire and forgets addresses that hold nothing', () => {
    const limits = new ConnectionLimits({ maxTotal: 2, maxPerIp: 1 });
    limits.release('10.0.0.9');
    expect(limits.total).toBe(0);
    expect(limits.tryAcquire('10.0.0.9')).toBe(true);
    limits.release('10.0.0.9');
    limits.release('10.0.0.9');
    expect(limits.total).toBe(0);
    expect(limits.addresses).toBe(0);
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => new ConnectionLimits({ maxTotal: 0 })).toThrow(expect.objectContaining({ code: 'FOS_ERR_CONFIG_INVALID' }));
    expect(() => new ConnectionLimits({ maxPerIp: 1.5 })).toThrow(expect.objectContaining({ code: 'FOS_ERR_CONFIG_INVALID' }));
  });

  it('never exceeds either limit and agrees with a simple model under any sequence', () => {
    const address = fc.constantFrom('10.0.0.1', '10.0.0.2', '::ffff:10.0.0.3', '10.0.0.3', '2001:db8::1', '2001:db8::2');
    const step = fc.record({ acquire: fc.boolean(), address });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.array(step, { maxLength: 200 }), (maxTotal, maxPerIp, steps) => {
        const limits = new ConnectionLimits({ maxTotal, maxPerIp });
        const held = new Map<string, number>();
        const key = (ip: string): string => ip.replace('::ffff:', '').replace(/^2001:db8::\d$/, '2001:db8');
        let total = 0;
        for (const { acquire, address: ip } of steps) {
          const count = held.get(key(ip)) ?? 0;
          if (acquire) {
            const expected = total < maxTotal && count < maxPerIp;
            expect(limits.tryAcquire(ip)).toBe(expected);
            if (expected) {
              total += 1;
              held.set(key(ip), count + 1);
            }
          } else if (count > 0) {
            limits.release(ip);
            total -= 1;
            held.set(key(ip), count - 1);
          }
          expect(limits.total).toBe(total);
          expect(limits.total).toBeLessThanOrEqual(maxTotal);
          expect(limits.countFor(ip)).toBeLessThanOrEqual(maxPerIp);
        }
      }),
    );
  });
});
