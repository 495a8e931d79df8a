/**
 * The login, operation and bandwidth limiters against both backends: memory, and the real
 * Redis on 127.0.0.1:6379 (each test with its own key prefix, removed afterwards).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosError } from '../src/errors.js';
import { ByteThrottle } from '../src/security/byte-throttle.js';
import { LoginLimiter } from '../src/security/login-limiter.js';
import { OpLimiter } from '../src/security/op-limiter.js';
import { closeRedis, connectRedis } from '../src/security/redis-client.js';
import type { LimitBackend } from '../src/security/types.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
let redis: Redis;
const prefixes: string[] = [];

beforeAll(async () => {
  redis = await connectRedis(REDIS_URL);
});

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await closeRedis(redis);
});

type BackendKind = 'memory' | 'redis';

function backend(kind: BackendKind): LimitBackend {
  if (kind === 'memory') return { kind: 'memory' };
  const keyPrefix = `fos-test-${randomBytes(6).toString('hex')}:`;
  prefixes.push(keyPrefix);
  return { kind: 'redis', client: redis, keyPrefix };
}

/** A stand-in for the password check: only alice/right passes. */
function passwordOk(user: string, password: string): boolean {
  return user === 'alice' && password === 'right';
}

/** One login attempt as the server runs it; returns what the client would see. */
async function attempt(limiter: LoginLimiter, ip: string, user: string, password: string): Promise<'ok' | 'failed' | number> {
  try {
    await limiter.check(ip, user);
  } catch (err) {
    if (err instanceof FosError && err.code === 'FOS_ERR_AUTH_RATE_LIMITED') {
      const retryMs = err.details['retryMs'];
      expect(typeof retryMs).toBe('number');
      return retryMs as number;
    }
    throw err;
  }
  if (passwordOk(user, password)) {
    await limiter.succeed(ip, user);
    return 'ok';
  }
  await limiter.fail(ip, user);
  return 'failed';
}

describe.each<BackendKind>(['memory', 'redis'])('LoginLimiter (%s)', (kind) => {
  it('lets through only the configured number of 1,000 wrong passwords from one address; the right user passes from another', async () => {
    const limiter = new LoginLimiter(backend(kind), {
      perUserIp: { points: 5, durationSec: 3_600, blockSec: 3_600 },
      perIp: { points: 50, durationSec: 3_600 },
      perUser: { points: 1_000, durationSec: 3_600 },
    });
    const outcomes: Array<'ok' | 'failed' | number> = [];
    for (let i = 0; i < 1_000; i += 1) outcomes.push(await attempt(limiter, '203.0.113.7', 'alice', `guess-${i}`));
    const checked = outcomes.filter((o) => o === 'failed').length;
    const refused = outcomes.filter((o): o is number => typeof o === 'number');
    expect(checked).toBe(5);
    expect(refused).toHaveLength(995);
    expect(Math.min(...refused)).toBeGreaterThan(3_000_000);
    // The attacker's address is blocked even for the right password...
    expect(typeof (await attempt(limiter, '203.0.113.7', 'alice', 'right'))).toBe('number');
    // ...while alice, from her own address, logs in at once, again and again.
    for (let i = 0; i < 20; i += 1) expect(await attempt(limiter, '198.51.100.2', 'alice', 'right')).toBe('ok');
  });

  it('limits spraying many user names from one address to the per-address budget', async () => {
    const limiter = new LoginLimiter(backend(kind), {
      perUserIp: { points: 5, durationSec: 3_600 },
      perIp: { points: 30, durationSec: 3_600, blockSec: 7_200 },
    });
    let checked = 0;
    for (let i = 0; i < 1_000; i += 1) if ((await attempt(limiter, '203.0.113.8', `user${i}`, 'x')) === 'failed') checked += 1;
    expect(checked).toBe(30);
    const retry = await attempt(limiter, '203.0.113.8', 'alice', 'right');
    expect(typeof retry === 'number' && retry > 3_600_000).toBe(true);
    expect(await attempt(limiter, '198.51.100.3', 'alice', 'right')).toBe('ok');
  });

  it('reserves attempts atomically: 200 parallel guesses pass no more than the limit', async () => {
    const limiter = new LoginLimiter(backend(kind), {
      perUserIp: { points: 7, durationSec: 3_600 },
      perIp: { points: 100, durationSec: 3_600 },
    });
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => attempt(limiter, '203.0.113.9', 'bob', `p${i}`)));
    expect(outcomes.filter((o) => o === 'failed')).toHaveLength(7);
  });

  it('forgets consecutive failures after a success and never slows successful logins', async () => {
    const limiter = new LoginLimiter(backend(kind), {
      perUserIp: { points: 3, durationSec: 3_600 },
      perIp: { points: 11, durationSec: 3_600 },
    });
    const ip = '192.0.2.10';
    for (let round = 0; round < 5; round += 1) {
      expect(await attempt(limiter, ip, 'alice', 'typo')).toBe('failed');
      expect(await attempt(limiter, ip, 'alice', 'typo')).toBe('failed');
      expect(await attempt(limiter, ip, 'alice', 'right')).toBe('ok');
    }
    // 10 failures used 10 of the address's 11 attempts; the 5 successes were given back.
    expect(await attempt(limiter, ip, 'carol', 'x')).toBe('failed');
    expect(typeof (await attempt(limiter, ip, 'carol', 'x'))).toBe('number');
  });

  it('counts failures for one account across addresses when configured', async () => {
    const limiter = new LoginLimiter(backend(kind), { perUser: { points: 12, durationSec: 3_600 } });
    let checked = 0;
    for (let i = 0; i < 100; i += 1) {
      if ((await attempt(limiter, `10.0.${i % 50}.${i}`, 'dave', 'x')) === 'failed') checked += 1;
    }
    expect(checked).toBe(12);
  });

  it('treats the same address the same in its IPv4-mapped form, and an IPv6 /64 as one address', async () => {
    const limiter = new LoginLimiter(backend(kind), { perUserIp: { points: 2, durationSec: 3_600 } });
    expect(await attempt(limiter, '203.0.113.20', 'erin', 'x')).toBe('failed');
    expect(await attempt(limiter, '::ffff:203.0.113.20', 'erin', 'x')).toBe('failed');
    expect(typeof (await attempt(limiter, '203.0.113.20', 'erin', 'x'))).toBe('number');
    expect(await attempt(limiter, '2001:db8:5:6::1', 'erin', 'x')).toBe('failed');
    expect(await attempt(limiter, '2001:db8:5:6::ffff', 'erin', 'x')).toBe('failed');
    expect(typeof (await attempt(limiter, '2001:db8:5:6:1:2:3:4', 'erin', 'x'))).toBe('number');
  });
});

describe('LoginLimiter settings', () => {
  it('rejects limits out of range', () => {
    expect(() => new LoginLimiter({ kind: 'memory' }, { perIp: { points: 0, durationSec: 60 } })).toThrow(
      expect.objectContaining({ code: 'FOS_ERR_CONFIG_INVALID' }),
    );
    expect(() => new LoginLimiter({ kind: 'memory' }, { perIp: { points: 5, durationSec: 30 * 86_400 } })).toThrow(
      expect.objectContaining({ code: 'FOS_ERR_CONFIG_INVALID' }),
    );
    expect(() => new LoginLimiter({ kind: 'memory' }, { perIp: { points: 5, durationSec: 1.5 } })).toThrow(
      expect.objectContaining({ code: 'FOS_ERR_CONFIG_INVALID' }),
    );
  });
});

describe.each<BackendKind>(['memory', 'redis'])('OpLimiter (%s)', (kind) => {
  it('allows the configured operations per window per user, then answers NET_RATE_LIMITED with the wait', async () => {
    const limiter = new OpLimiter(backend(kind), { ops: 20, perSeconds: 60 });
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        limiter.take('alice').then(
          () => 'ok' as const,
          (err: unknown) => err,
        ),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(20);
    const refusal = results.find((r) => r !== 'ok');
    expect(refusal).toMatchObject({ code: 'FOS_ERR_NET_RATE_LIMITED', details: { retryMs: expect.any(Number) } });
    expect((refusal as FosError).wireCode).toBe('RATE_LIMITED');
    await expect(limiter.take('bob')).resolves.toBeUndefined();
  });

  it('waits out the window instead of refusing for protocols that cannot say RATE_LIMITED', async () => {
    const waits: number[] = [];
    const limiter = new OpLimiter(backend(kind), {
      ops: 3,
      perSeconds: 1,
      sleep: (ms) => {
        waits.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    // Seven operations at three per one-second window need a wait even across a window edge.
    for (let i = 0; i < 7; i += 1) await limiter.wait('carol');
    expect(waits.length).toBeGreaterThanOrEqual(1);
    for (const ms of waits) {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(1000);
    }
  });
});

/** A virtual clock whose sleep advances time, so that bandwidth is exact and instant. */
function virtualTime(): { clock: () => number; sleep: (ms: number) => Promise<void>; slept: () => number } {
  let now = 1_000_000;
  let slept = 0;
  return {
    clock: () => now,
    sleep: (ms) => {
      now += ms;
      slept += ms;
      return Promise.resolve();
    },
    slept: () => slept,
  };
}

describe.each<BackendKind>(['memory', 'redis'])('ByteThrottle (%s)', (kind) => {
  it('holds a transfer to the configured rate within 10 %, whatever the chunk size', async () => {
    for (const chunkBytes of [4 * 1024, 256 * 1024, 3 * 1024 * 1024]) {
      const time = virtualTime();
      const throttle = new ByteThrottle(backend(kind), {
        name: 'upload',
        bytesPerSecond: 1024 * 1024,
        burstBytes: 64 * 1024,
        clock: time.clock,
        sleep: time.sleep,
      });
      const total = 20 * 1024 * 1024;
      const start = time.clock();
      for (let sent = 0; sent < total; sent += chunkBytes) await throttle.take('alice', Math.min(chunkBytes, total - sent));
      const seconds = (time.clock() - start) / 1000;
      const rate = total / seconds;
      expect(rate).toBeLessThanOrEqual(1024 * 1024 * 1.1);
      expect(rate).toBeGreaterThanOrEqual(1024 * 1024 * 0.9);
    }
  });

  it('gives each user a separate bucket and refills while idle, up to the burst only', async () => {
    const time = virtualTime();
    const throttle = new ByteThrottle(backend(kind), {
      name: 'download',
      bytesPerSecond: 1000,
      burstBytes: 500,
      clock: time.clock,
      sleep: time.sleep,
    });
    await throttle.take('alice', 500);
    expect(time.slept()).toBe(0);
    await throttle.take('bob', 500);
    expect(time.slept()).toBe(0);
    await throttle.take('alice', 1000);
    expect(time.slept()).toBe(1000);
    // A long quiet spell refills the bucket to the burst, not beyond.
    await time.sleep(60_000);
    const before = time.slept();
    await throttle.take('alice', 1500);
    expect(time.slept() - before).toBe(1000);
  });

  it('stops waiting when the transfer is aborted', async () => {
    const throttle = new ByteThrottle(backend(kind), { name: 'upload', bytesPerSecond: 10, burstBytes: 1 });
    const controller = new AbortController();
    const waiting = throttle.take('alice', 1_000_000, controller.signal);
    controller.abort(new Error('connection closed'));
    await expect(waiting).rejects.toThrow('connection closed');
  });
});

describe('ByteThrottle with Redis shared by two nodes', () => {
  it('gives a user one budget across nodes', async () => {
    const time = virtualTime();
    const shared = backend('redis');
    const settings = { name: 'upload', bytesPerSecond: 1000, burstBytes: 1000, clock: time.clock, sleep: time.sleep };
    const nodeA = new ByteThrottle(shared, settings);
    const nodeB = new ByteThrottle(shared, settings);
    await nodeA.take('alice', 1000);
    expect(time.slept()).toBe(0);
    await nodeB.take('alice', 1000);
    expect(time.slept()).toBe(1000);
  });

  it('falls back to a bucket in memory while Redis is unreachable', async () => {
    const down = await connectRedis(REDIS_URL);
    await closeRedis(down);
    const time = virtualTime();
    const throttle = new ByteThrottle(
      { kind: 'redis', client: down, keyPrefix: 'unused:' },
      { name: 'upload', bytesPerSecond: 1000, burstBytes: 1000, clock: time.clock, sleep: time.sleep },
    );
    await throttle.take('alice', 3000);
    expect(time.slept()).toBe(2000);
  });
});

describe('LoginLimiter while Redis is unreachable', () => {
  it('keeps limiting in memory instead of letting every guess through', async () => {
    const down = await connectRedis(REDIS_URL);
    await closeRedis(down);
    const limiter = new LoginLimiter({ kind: 'redis', client: down, keyPrefix: 'unused:' }, { perUserIp: { points: 3, durationSec: 60 } });
    let checked = 0;
    for (let i = 0; i < 50; i += 1) if ((await attempt(limiter, '203.0.113.30', 'alice', 'x')) === 'failed') checked += 1;
    expect(checked).toBe(3);
  });
});
