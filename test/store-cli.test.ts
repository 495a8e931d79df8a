import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/main.js';
import { clusterServices } from '../src/cli/server-cluster.js';
import { EXIT } from '../src/errors.js';
import { createLogger } from '../src/log/logger.js';
import { Inbox } from './support/notice-hub-contract.js';
import { PostgresStore, openPostgresStore } from '../src/store/postgres.js';
import { createTestDatabase } from './support/postgres.js';
import type { TestDatabase } from './support/postgres.js';

const REDIS_URL = process.env['FOS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function fos(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end(input);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const io: CliIo = { stdout, stderr, stdin, env: { FOS_BCRYPT_COST: '4' } };
  const code = await main(['node', 'fos', ...args], io);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

describe('--store on the command line', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  it('fos user commands manage accounts in PostgreSQL without a data folder', async () => {
    const added = await fos(['user', 'add', 'alice', '--store', db.url, '--password-stdin'], 'correct horse battery\n');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(EXIT.ok);
    const listed = await fos(['user', 'list', '--store', db.url, '--json']);
    expect(listed.code).toBe(EXIT.ok);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((a) => a.name)).toEqual(['alice']);
    const store = await openPostgresStore(db.url);
    try {
      expect((await store.getUser('alice'))?.passwordHash).toMatch(/^\$2[aby]\$04\$/u);
    } finally {
      await store.close();
    }
    const twice = await fos(['user', 'add', 'alice', '--store', db.url, '--password-stdin'], 'another password\n');
    expect(twice.stderr).toContain('FOS_ERR_STORE_USER_EXISTS');
  });

  it('fos user without --store or --data is a usage error', async () => {
    const run = await fos(['user', 'list']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('--store');
  });

  it('fos server options open the PostgreSQL store and a Redis notice hub, and close both', async () => {
    const logger = createLogger({ level: 'silent' });
    const cluster = await clusterServices({ store: db.url, notices: REDIS_URL }, '/unused', logger);
    const other = await clusterServices({ store: db.url, notices: REDIS_URL }, '/unused', logger);
    try {
      expect(cluster.options.store).toBeInstanceOf(PostgresStore);
      const hub = cluster.options.hub;
      const otherHub = other.options.hub;
      if (hub === undefined || otherHub === undefined) throw new Error('no hub');
      const inbox = new Inbox();
      otherHub.subscribe('cli-user', inbox.listener);
      await otherHub.settled();
      hub.publish('cli-user', 3, ['a']);
      expect(await inbox.waitFor(1)).toEqual([{ rev: 3, paths: ['a'] }]);
    } finally {
      await cluster.close();
      await cluster.close();
      await other.close();
    }
    await expect(cluster.options.store.getUser('alice')).rejects.toMatchObject({ code: 'FOS_ERR_STORE_WRITE' });
  });
});
