/**
 * Resource exhaustion against a real `fos server` (issue 7, "done when" 5): 1,000 idle
 * connections and 100 slow-loris connections do not stop an honest client, slow peers
 * are closed, the per-address limit holds, and the server's memory stays bounded.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FosClient } from '../src/client/index.js';
import { GREETING } from '../src/protocol/constants.js';
import { mapLimit, openSocket, readUntil, rssBytes } from '../test-support/raw-peer.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'an honest password';
/** Generous: a Node server at rest is near 100 MiB; 1,100 idle sockets add a few MiB. */
const MAX_RSS_BYTES = 512 * 1024 * 1024;

const cleanups: (() => Promise<void>)[] = [];
let sockets: Socket[] = [];
let timers: NodeJS.Timeout[] = [];

afterEach(() => {
  for (const timer of timers) clearInterval(timer);
  for (const socket of sockets) socket.destroy();
  timers = [];
  sockets = [];
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serverWith(args: readonly string[]): Promise<{ server: TestServer; work: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fos-exhaust-'));
  const work = await mkdtemp(join(tmpdir(), 'fos-exhaust-work-'));
  await addUser(dataDir, 'alice', PASSWORD);
  const server = await startServer({ dataDir, args });
  cleanups.push(async () => {
    await server.dispose();
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });
  return { server, work };
}

/** An honest session: log in, upload, list, download, compare. */
async function honestRoundTrip(server: TestServer, work: string): Promise<void> {
  const content = randomBytes(1024 * 1024);
  const local = join(work, `honest-${randomBytes(4).toString('hex')}.bin`);
  await writeFile(local, content);
  const client = await FosClient.connect({
    address: { host: server.host, port: server.port },
    credentials: { kind: 'password', user: 'alice', password: PASSWORD },
  });
  try {
    const name = local.slice(work.length + 1);
    await client.upload(local, name);
    const listing = await client.list();
    expect(listing.entries.map((e) => e.path)).toContain(name);
    await client.download(name, `${local}.back`);
  } finally {
    await client.quit();
  }
  expect((await readFile(`${local}.back`)).equals(content)).toBe(true);
}

function isClosed(socket: Socket): boolean {
  return socket.destroyed || socket.readableEnded || socket.closed;
}

async function waitFor(condition: () => boolean, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

describe('connection floods', () => {
  it('1,000 idle and 100 slow-loris connections do not stop an honest client, and are closed', async () => {
    const { server, work } = await serverWith(['--max-connections', '2000', '--max-connections-per-ip', '1500', '--auth-timeout', '6']);
    const pid = server.process.pid ?? 0;
    const baseline = await rssBytes(pid);

    let greeted = 0;
    const idle = await mapLimit(Array.from({ length: 1_000 }, (_, i) => i), 100, async () => {
      const socket = await openSocket({ host: server.host, port: server.port, localAddress: '127.0.0.4' });
      sockets.push(socket);
      socket.on('error', () => undefined);
      if ((await readUntil(socket, (t) => t.startsWith(GREETING), 10_000)).startsWith(GREETING)) greeted += 1;
      socket.on('data', () => undefined);
      return socket;
    });
    // Every flood connection was accepted (the limits were raised for this test).
    expect(greeted).toBe(1_000);
    const hello = Buffer.from('HELLO {"version":2,"client":"slow"}\n');
    const loris = await mapLimit(Array.from({ length: 100 }, (_, i) => i), 50, async () => {
      const socket = await openSocket({ host: server.host, port: server.port, localAddress: '127.0.0.5' });
      sockets.push(socket);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      let sent = 0;
      // One byte every 250 ms: the HELLO line would take 9 s, longer than the login timeout.
      const timer = setInterval(() => {
        if (sent < hello.length && socket.writable) socket.write(hello.subarray(sent, sent + 1));
        sent += 1;
      }, 250);
      timers.push(timer);
      return socket;
    });

    await honestRoundTrip(server, work);
    const during = await rssBytes(pid);
    expect(server.process.exitCode).toBeNull();

    // The login timeout closes every peer that never logged in, slow or silent.
    expect(await waitFor(() => loris.every(isClosed), 30_000)).toBe(true);
    expect(await waitFor(() => idle.every(isClosed), 30_000)).toBe(true);
    await honestRoundTrip(server, work);
    expect(baseline).toBeDefined();
    expect(during).toBeDefined();
    expect(during ?? Infinity).toBeLessThan(MAX_RSS_BYTES);
    expect((during ?? Infinity) - (baseline ?? 0)).toBeLessThan(256 * 1024 * 1024);
  });

  it('refuses connections past the per-address limit while other addresses still get in', async () => {
    const { server, work } = await serverWith(['--max-connections-per-ip', '50', '--auth-timeout', '30']);
    const flood = await mapLimit(Array.from({ length: 80 }, (_, i) => i), 20, async () => {
      const socket = await openSocket({ host: server.host, port: server.port, localAddress: '127.0.0.6' });
      sockets.push(socket);
      socket.on('error', () => undefined);
      return readUntil(socket, (t) => t.startsWith(GREETING), 5_000).then((text) => ({ socket, text }));
    });
    expect(flood.filter((f) => f.text.startsWith(GREETING))).toHaveLength(50);
    expect(flood.filter((f) => !f.text.startsWith(GREETING) && isClosed(f.socket))).toHaveLength(30);
    await honestRoundTrip(server, work);
  });

  it('refuses connections past the total limit, and takes them again once slots are free', async () => {
    const { server, work } = await serverWith(['--max-connections', '30', '--auth-timeout', '30']);
    const held = await mapLimit(Array.from({ length: 30 }, (_, i) => i), 10, async (i) => {
      const socket = await openSocket({ host: server.host, port: server.port, localAddress: `127.0.1.${i + 1}` });
      sockets.push(socket);
      socket.on('error', () => undefined);
      await readUntil(socket, (t) => t.startsWith(GREETING), 5_000);
      return socket;
    });
    const extra = await openSocket({ host: server.host, port: server.port, localAddress: '127.0.2.1' });
    sockets.push(extra);
    expect(await readUntil(extra, (t) => t.startsWith(GREETING), 5_000)).toBe('');
    for (const socket of held.slice(0, 5)) socket.destroy();
    expect(await waitFor(() => server.logRecords().filter((r) => r['msg'] === 'connection refused: too many connections').length >= 1, 5_000)).toBe(true);
    // Freed slots are handed out again: the honest client gets one.
    let done = false;
    for (let attempt = 0; attempt < 20 && !done; attempt += 1) {
      try {
        await honestRoundTrip(server, work);
        done = true;
      } catch {
        // The server may not have seen the closes yet; the slots come back within moments.
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    expect(done).toBe(true);
  });
});
