/**
 * TLS end to end (issue 7): a real `fos server --tls` subprocess on 127.0.0.1, the real
 * client library over the pinning connect function, `openssl s_client`, and a swapped
 * certificate that must be refused before any credential is sent.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosClient } from '../src/client/index.js';
import { lookupHost } from '../src/security/known-hosts.js';
import { tlsConnector } from '../src/security/tls-connect.js';
import { addUser, printFingerprint, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery staple';
let dataDir = '';
let work = '';
let server: TestServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fos-tls-data-'));
  work = await mkdtemp(join(tmpdir(), 'fos-tls-work-'));
  await addUser(dataDir, 'alice', PASSWORD);
  server = await startServer({ dataDir, args: ['--tls', '--auth-timeout', '3'] });
});

afterAll(async () => {
  // undefined when beforeAll failed before the server started; the folders go regardless.
  if ((server as TestServer | undefined) !== undefined) await server.dispose();
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

function loggedFingerprint(): string | undefined {
  const records = server.logRecords().filter((r) => r['msg'] === 'tls certificate');
  const last = records[records.length - 1]?.['fingerprint'];
  return typeof last === 'string' ? last : undefined;
}

async function printedFingerprint(): Promise<string> {
  const first = await printFingerprint(dataDir);
  expect(first).toMatch(/^SHA256:/);
  return first;
}

function connectOptions(knownHostsFile: string, onFirstUse: (fp: string) => Promise<boolean>, pin?: string) {
  return {
    address: { host: server.host, port: server.port },
    credentials: { kind: 'password', user: 'alice', password: PASSWORD } as const,
    connect: tlsConnector({ knownHostsFile, onFirstUse, ...(pin === undefined ? {} : { pin }) }),
  };
}

describe('fos server --tls', () => {
  it('prints the fingerprint it serves; a client pins it on first use and reconnects without asking', async () => {
    const fingerprint = await printedFingerprint();
    expect(loggedFingerprint()).toBe(fingerprint);
    const knownHostsFile = join(work, 'pin', 'known_hosts');
    const shown: string[] = [];
    const onFirstUse = (fp: string): Promise<boolean> => {
      shown.push(fp);
      return Promise.resolve(true);
    };
    const local = join(work, 'hello.txt');
    await writeFile(local, 'over TLS\n');
    const client = await FosClient.connect(connectOptions(knownHostsFile, onFirstUse));
    try {
      await client.upload(local, 'hello.txt');
    } finally {
      await client.quit();
    }
    expect(shown).toEqual([fingerprint]);
    expect(await lookupHost(knownHostsFile, server.host, server.port)).toBe(fingerprint);

    const again = await FosClient.connect(connectOptions(knownHostsFile, onFirstUse));
    try {
      const listing = await again.list();
      expect(listing.entries.map((e) => e.path)).toContain('hello.txt');
      await again.download('hello.txt', join(work, 'back.txt'));
    } finally {
      await again.quit();
    }
    expect(await readFile(join(work, 'back.txt'), 'utf8')).toBe('over TLS\n');
    expect(shown).toHaveLength(1);
  });

  it('negotiates TLS 1.3 with openssl s_client and refuses TLS 1.2', async () => {
    const run = (version: string): Promise<string> =>
      new Promise((resolve) => {
        const child = execFile(
          'openssl',
          ['s_client', '-connect', `${server.host}:${server.port}`, version, '-brief'],
          { timeout: 15_000 },
          (_err, stdout, stderr) => resolve(`${stdout}${stderr}`),
        );
        child.stdin?.end();
      });
    expect(await run('-tls1_3')).toMatch(/Protocol version: TLSv1\.3/);
    expect(await run('-tls1_2')).not.toMatch(/Protocol version/);
  });

  it('gives a plain-TCP peer nothing, and keeps serving', async () => {
    const received = await new Promise<string>((resolve) => {
      const socket = netConnect({ host: server.host, port: server.port });
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      socket.on('connect', () => socket.write('alice:wrong\n'));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
    expect(received).not.toContain('AUTH');
    const client = await FosClient.connect(connectOptions(join(work, 'pin', 'known_hosts'), () => Promise.resolve(false)));
    await client.quit();
  });

  it('refuses a swapped certificate before sending the password, showing both fingerprints', async () => {
    const knownHostsFile = join(work, 'swap', 'known_hosts');
    const before = await printedFingerprint();
    const first = await FosClient.connect(connectOptions(knownHostsFile, () => Promise.resolve(true)));
    await first.quit();

    await server.kill();
    await rm(join(dataDir, 'tls'), { recursive: true, force: true });
    await server.restart();
    const after = await printedFingerprint();
    expect(after).not.toBe(before);
    const logsBefore = server.logRecords().length;

    let asked = false;
    const err: unknown = await FosClient.connect(
      connectOptions(knownHostsFile, () => {
        asked = true;
        return Promise.resolve(true);
      }),
    ).then(
      async (client) => {
        await client.quit();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'FOS_ERR_NET_TLS' });
    expect((err as Error).message).toContain(before);
    expect((err as Error).message).toContain(after);
    expect(asked).toBe(false);
    // The server never saw a login attempt: the password did not leave the client.
    const later = server.logRecords().slice(logsBefore);
    expect(later.some((r) => r['msg'] === 'logged in' || r['msg'] === 'login refused')).toBe(false);
    expect(await lookupHost(knownHostsFile, server.host, server.port)).toBe(before);

    // Confirmed out of band, the new fingerprint is pinned explicitly.
    const confirmed = await FosClient.connect(connectOptions(knownHostsFile, () => Promise.resolve(false), after));
    await confirmed.quit();
    expect(await lookupHost(knownHostsFile, server.host, server.port)).toBe(after);
  });
});
