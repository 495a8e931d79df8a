/**
 * Brute force against a real `fos server` (issue 7, "done when" 4): 1,000 wrong passwords
 * from one address are throttled to the configured rate, in memory and in Redis mode, and
 * the right user still logs in from another address. A wrong user and a wrong password
 * get the same answer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { mapLimit, rawLogin, type LoginOutcome, type PeerAddress } from '../test-support/raw-peer.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'the right password, long enough';
const ATTACKER = '127.0.0.1';
const HONEST = '127.0.0.2';
const PER_USER_IP = 5;
const PER_IP = 40;

const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serverWith(extra: readonly string[]): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fos-brute-'));
  await addUser(dataDir, 'alice', PASSWORD);
  const server = await startServer({
    dataDir,
    args: ['--login-fails-per-user-ip', String(PER_USER_IP), '--login-attempts-per-ip', String(PER_IP), ...extra],
  });
  cleanups.push(async () => {
    await server.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });
  return server;
}

function count(outcomes: readonly LoginOutcome[], code: string): number {
  return outcomes.filter((o) => o.kind === 'error' && o.code === code).length;
}

describe.each(['memory', 'redis'] as const)('brute force against fos server (%s counters)', (mode) => {
  it('throttles 1,000 wrong passwords from one address to the configured limit; alice still logs in from another', async () => {
    const prefix = `fos-brute-${randomBytes(6).toString('hex')}:`;
    if (mode === 'redis') {
      cleanups.push(async () => {
        const redis = new Redis('redis://127.0.0.1:6379');
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      });
    }
    const server = await serverWith(mode === 'redis' ? ['--redis', 'redis://127.0.0.1:6379', '--redis-prefix', prefix] : []);
    const attacker: PeerAddress = { host: server.host, port: server.port, localAddress: ATTACKER };
    const honest: PeerAddress = { host: server.host, port: server.port, localAddress: HONEST };

    const guesses = Array.from({ length: 1_000 }, (_, i) => `guess-${i}`);
    const outcomes = await mapLimit(guesses, 25, (guess) => rawLogin(attacker, 'alice', guess));
    expect(count(outcomes, 'AUTH_FAILED')).toBe(PER_USER_IP);
    expect(count(outcomes, 'RATE_LIMITED')).toBe(1_000 - PER_USER_IP);
    expect(outcomes.filter((o) => o.kind === 'ok')).toHaveLength(0);
    for (const outcome of outcomes) {
      if (outcome.kind === 'error' && outcome.code === 'RATE_LIMITED') expect(outcome.retryMs).toBeGreaterThan(0);
    }
    // Even the right password from the attacking address waits out the block...
    expect(await rawLogin(attacker, 'alice', PASSWORD)).toMatchObject({ kind: 'error', code: 'RATE_LIMITED' });
    // ...while alice from her own address is not slowed at all.
    for (let i = 0; i < 5; i += 1) expect(await rawLogin(honest, 'alice', PASSWORD)).toEqual({ kind: 'ok' });

    if (mode === 'redis') {
      const redis = new Redis('redis://127.0.0.1:6379');
      try {
        expect((await redis.keys(`${prefix}login-*`)).length).toBeGreaterThan(0);
      } finally {
        await redis.quit();
      }
    }
  });

  it('throttles spraying 1,000 user names from one address to the per-address limit', async () => {
    const prefix = `fos-spray-${randomBytes(6).toString('hex')}:`;
    const server = await serverWith(mode === 'redis' ? ['--redis', 'redis://127.0.0.1:6379', '--redis-prefix', prefix] : []);
    if (mode === 'redis') {
      cleanups.push(async () => {
        const redis = new Redis('redis://127.0.0.1:6379');
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      });
    }
    const attacker: PeerAddress = { host: server.host, port: server.port, localAddress: ATTACKER };
    const names = Array.from({ length: 1_000 }, (_, i) => (i % 2 === 0 ? `nobody${i}` : 'alice'));
    const outcomes = await mapLimit(names, 25, (name, i) => rawLogin(attacker, name, `wrong-${i}`));
    const checked = count(outcomes, 'AUTH_FAILED');
    // alice's own budget (5) is spent inside the address's budget (40).
    expect(checked).toBe(PER_IP);
    expect(count(outcomes, 'RATE_LIMITED')).toBe(1_000 - PER_IP);
    expect(await rawLogin({ ...attacker, localAddress: HONEST }, 'alice', PASSWORD)).toEqual({ kind: 'ok' });
  });
});

describe('wrong user and wrong password', () => {
  it('get the same reply', async () => {
    const server = await serverWith([]);
    const address: PeerAddress = { host: server.host, port: server.port, localAddress: '127.0.0.3' };
    const wrongPassword = await rawLogin(address, 'alice', 'nope');
    const wrongUser = await rawLogin(address, 'mallory', 'nope');
    expect(wrongPassword).toEqual({ kind: 'error', code: 'AUTH_FAILED', retryMs: undefined });
    expect(wrongUser).toEqual(wrongPassword);
  });
});
