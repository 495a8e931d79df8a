/**
 * Issue 3, "Done when" 8: 200 concurrent connections, each uploading and downloading its
 * own file through the client library; every file comes back byte-identical, and the
 * server's listing holds all of them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadFile } from '../src/client/download.js';
import { FosClient } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { RawPeer } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const CONNECTIONS = 200;
const LOGIN_BATCH = 8;
const USERS = ['alice', 'bob', 'carol', 'dave'];
const PASSWORD = 'correct horse battery';
let server: TestServer;
let scratch: string;

beforeAll(async () => {
  server = await startServer();
  for (const user of USERS) await addUser(server.dataDir, user, PASSWORD);
  scratch = await mkdtemp(join(tmpdir(), 'fos-concurrency-'));
});

afterAll(async () => {
  await server?.dispose();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('many clients at once', () => {
  it(`serves ${CONNECTIONS} connections that each upload and download a file, byte-identical`, async () => {
    const jobs = Array.from({ length: CONNECTIONS }, (_, i) => ({
      user: USERS[i % USERS.length] as string,
      path: `c/${String(i).padStart(3, '0')}/file-${i}.bin`,
      data: randomBytes(1 + ((i * 7919) % (300 * 1024))),
      source: join(scratch, `up-${i}`),
      target: join(scratch, `down-${i}`),
    }));
    await Promise.all(jobs.map((job) => writeFile(job.source, job.data)));
    // Logins go a few at a time: the login limiter counts attempts in flight per user and
    // address (src/security/login-limiter.ts). The 200 connections then all work at once.
    const clients: FosClient[] = [];
    try {
      for (let at = 0; at < jobs.length; at += LOGIN_BATCH) {
        const batch = jobs.slice(at, at + LOGIN_BATCH).map((job) =>
          FosClient.connect({
            address: { host: server.host, port: server.port },
            credentials: { kind: 'password', user: job.user, password: PASSWORD },
            timeoutMs: 60_000,
          }),
        );
        clients.push(...(await Promise.all(batch)));
      }
      await Promise.all(
        jobs.map(async (job, i) => {
          const client = clients[i] as FosClient;
          await uploadFile(client.connection, job.source, job.path, { compress: i % 2 === 0 });
          await downloadFile(client.connection, job.path, job.target, { compress: i % 3 === 0 });
        }),
      );
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
    for (const job of jobs) expect((await readFile(job.target)).equals(job.data), job.path).toBe(true);
    for (const user of USERS) {
      const peer = await RawPeer.login(server.port, user, PASSWORD);
      const listing = await peer.list({ recursive: true });
      if (!('entries' in listing)) throw new Error('LIST failed');
      const files = listing.entries.filter((e) => e.kind === 'file').map((e) => e.path);
      expect(files.sort()).toEqual(jobs.filter((job) => job.user === user).map((job) => job.path).sort());
      await peer.quit();
    }
  });
});
