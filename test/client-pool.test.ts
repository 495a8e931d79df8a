/**
 * The client library against a real server, as the sync agent uses it: a pool that reuses
 * connections and replaces broken ones, retries across a server restart, the change feed,
 * WATCH notices, device tokens and the trash.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, FosClient } from '../src/client/index.js';
import type { ConnectionOptions, Notice } from '../src/client/index.js';
import { PASSWORD, USER } from './cli-support.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, USER, PASSWORD);
  dir = await mkdtemp(join(tmpdir(), 'fos-pool-'));
});

afterAll(async () => {
  await server.dispose();
  await rm(dir, { recursive: true, force: true });
});

function options(): ConnectionOptions {
  return { address: { host: server.host, port: server.port }, credentials: { kind: 'password', user: USER, password: PASSWORD } };
}

/** Polls `check` until it holds, for at most 10 s. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('ClientPool', () => {
  it('reuses an idle connection, drops a broken one, and never opens more than its size', async () => {
    const pool = new ClientPool({ ...options(), size: 2 });
    const first = await pool.acquire();
    pool.release(first);
    const again = await pool.acquire();
    expect(again).toBe(first);
    const second = await pool.acquire();
    expect(second).not.toBe(first);
    let thirdGiven = false;
    const third = pool.acquire().then((client) => {
      thirdGiven = true;
      return client;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(thirdGiven).toBe(false);
    second.connection.destroy();
    pool.release(second);
    const replacement = await third;
    expect(replacement).not.toBe(second);
    expect(replacement.isUsable).toBe(true);
    pool.release(replacement);
    pool.release(again);
    await pool.close();
    await pool.close();
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'FOS_ERR_NET_CLOSED' });
  });

  it('retries across a server restart and the upload completes', async () => {
    const pool = new ClientPool({ ...options(), size: 1 });
    const local = join(dir, 'restart.txt');
    await writeFile(local, 'survives a restart\n');
    await pool.run((client) => client.upload(local, 'before.txt'));
    await server.kill();
    const retried: string[] = [];
    // Started while the server is down: connecting fails until the restart below.
    const pending = pool.run((client) => client.upload(local, 'after.txt'), {
      retries: 20,
      baseMs: 50,
      maxMs: 1000,
      onRetry: ({ error }) => retried.push(error.code),
    });
    await eventually(() => retried.length > 0);
    await server.restart();
    const entry = await pending;
    expect(entry).toMatchObject({ path: 'after.txt', size: 19 });
    expect(retried.length).toBeGreaterThan(0);
    await pool.close();
  });
});

describe('FosClient', () => {
  it('reads the change feed with tombstones, and watches for changes', async () => {
    const client = await FosClient.connect(options());
    const start = await client.changesSince(0);
    const local = join(dir, 'feed.txt');
    await writeFile(local, 'one');
    const notices: Notice[] = [];
    const controller = new AbortController();
    const watching = client.watch(start.rev, (notice) => notices.push(notice), controller.signal);
    const uploaded = await client.upload(local, 'feed/a.txt');
    await eventually(() => notices.some((n) => n.paths.includes('feed/a.txt')));
    await client.delete('feed/a.txt', { baseRev: uploaded.rev });
    const feed = await client.changesSince(start.rev);
    expect(feed.rev).toBeGreaterThan(uploaded.rev);
    expect(feed.entries).toContainEqual(expect.objectContaining({ path: 'feed/a.txt', deleted: true }));
    expect(feed.entries).toContainEqual(expect.objectContaining({ path: 'feed', kind: 'dir' }));
    const trash = await client.trash('feed');
    expect(trash).toContainEqual(expect.objectContaining({ path: 'feed/a.txt', size: 3, sha256: uploaded.sha256 }));
    controller.abort();
    await watching;
    await client.quit();
  });

  it('issues, lists and revokes device tokens; a revoked token no longer logs in', async () => {
    const client = await FosClient.connect(options());
    const issued = await client.issueToken('test-device');
    expect(issued.token).not.toBe('');
    const tokens = await client.listTokens();
    expect(tokens).toContainEqual(expect.objectContaining({ id: issued.id, user: USER, device: 'test-device' }));
    expect(JSON.stringify(tokens)).not.toContain(issued.token);
    const byToken = await FosClient.connect({ ...options(), credentials: { kind: 'token', token: issued.token } });
    expect(byToken.user).toBe(USER);
    await byToken.revokeToken();
    await byToken.quit();
    await expect(FosClient.connect({ ...options(), credentials: { kind: 'token', token: issued.token } })).rejects.toMatchObject({
      code: 'FOS_ERR_AUTH_FAILED',
    });
    expect((await client.listTokens()).map((t) => t.id)).not.toContain(issued.id);
    await client.quit();
  });
});
