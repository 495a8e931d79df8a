/**
 * The short fuzz run (issue 7, "done when" 3; `npm run fuzz` is the long one): 5,000
 * random and mutated messages in FOS/2 and legacy mode against a running server, while an
 * honest client keeps working. No crash, no error-level log, memory bounded.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosClient } from '../src/client/index.js';
import { runFuzz } from '../test-support/fuzz-messages.js';
import { rssBytes } from '../test-support/raw-peer.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const HONEST_PASSWORD = 'honest and long enough';
const FUZZ_PASSWORD = 'fuzzer password';
const MAX_RSS_BYTES = 512 * 1024 * 1024;
/** Fuzz logins fail on purpose; the limiter must not stop the fuzz from reaching the handlers. */
const OPEN_LIMITS = ['--login-attempts-per-ip', '1000000000', '--login-fails-per-user-ip', '1000000000', '--login-fails-per-user', '1000000000'];

let dataDir = '';
let work = '';
let server: TestServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fos-fuzz-'));
  work = await mkdtemp(join(tmpdir(), 'fos-fuzz-work-'));
  await addUser(dataDir, 'alice', HONEST_PASSWORD);
  await addUser(dataDir, 'mallory', FUZZ_PASSWORD);
  server = await startServer({ dataDir, args: [...OPEN_LIMITS, '--auth-timeout', '5', '--idle-timeout', '5'] });
});

afterAll(async () => {
  // undefined when beforeAll failed before the server started; the folders go regardless.
  if ((server as TestServer | undefined) !== undefined) await server.dispose();
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

async function honestRound(client: FosClient, round: number): Promise<void> {
  const content = randomBytes(64 * 1024 + round);
  const local = join(work, `h${round}.bin`);
  await writeFile(local, content);
  await client.upload(local, `honest/h${round}.bin`);
  await client.download(`honest/h${round}.bin`, `${local}.back`);
  expect((await readFile(`${local}.back`)).equals(content)).toBe(true);
}

describe('fuzz', () => {
  it('survives 5,000 random and mutated messages in both modes while an honest client works', async () => {
    const pid = server.process.pid ?? 0;
    let maxRss = (await rssBytes(pid)) ?? Infinity;
    const sampler = setInterval(() => {
      void rssBytes(pid).then((rss) => {
        if (rss !== undefined) maxRss = Math.max(maxRss, rss);
      });
    }, 200);
    const controller = new AbortController();
    let rounds = 0;
    const honest = (async () => {
      const client = await FosClient.connect({
        address: { host: server.host, port: server.port },
        credentials: { kind: 'password', user: 'alice', password: HONEST_PASSWORD },
      });
      try {
        while (!controller.signal.aborted) {
          await honestRound(client, rounds);
          rounds += 1;
        }
      } finally {
        await client.quit();
      }
    })();
    try {
      const stats = await runFuzz({
        address: { host: server.host, port: server.port },
        user: 'mallory',
        password: FUZZ_PASSWORD,
        messages: 5_000,
        seed: 7,
        concurrency: 16,
      });
      expect(stats.messages).toBe(5_000);
      expect(stats.connections).toBeGreaterThan(100);
    } finally {
      controller.abort();
      await honest;
      clearInterval(sampler);
    }
    expect(rounds).toBeGreaterThan(0);
    expect(server.process.exitCode).toBeNull();
    expect(server.process.signalCode).toBeNull();
    expect(maxRss).toBeLessThan(MAX_RSS_BYTES);
    const errors = server.logRecords().filter((r) => typeof r['level'] === 'number' && r['level'] >= 50);
    expect(errors.map((r) => r['msg'])).toEqual([]);
    expect(server.logs()).not.toMatch(/unhandled|uncaught/i);
    // The fuzz got past the login into the handlers, in both modes, not only into the codec.
    const records = server.logRecords();
    expect(records.filter((r) => r['msg'] === 'logged in' && r['user'] === 'mallory').length).toBeGreaterThan(50);
    expect(records.filter((r) => r['msg'] === 'operation' && r['user'] === 'mallory').length).toBeGreaterThan(100);
    // A fresh honest connection after the storm.
    const after = await FosClient.connect({
      address: { host: server.host, port: server.port },
      credentials: { kind: 'password', user: 'alice', password: HONEST_PASSWORD },
    });
    try {
      await honestRound(after, 10_000);
      // Nothing the fuzzer did landed in alice's space.
      const listing = await after.list('', { recursive: true });
      expect(listing.entries.every((e) => e.path === 'honest' || e.path.startsWith('honest/'))).toBe(true);
    } finally {
      await after.quit();
    }
  });
});
