/**
 * The fault proxy itself (issue 9): bytes pass intact under latency, a bandwidth cap and a
 * stall; a cut delivers exactly N bytes and resets; a half-open direction swallows bytes
 * and never passes an end on; clearing the faults lets bytes flow again.
 */
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../test-support/fault-proxy.js';
import { waitUntil } from '../../test-support/soak-procs.js';

let echo: Server;
let proxy: FaultProxy;
const sockets = new Set<Socket>();

/** A client socket through the proxy, collecting what comes back. */
async function open(): Promise<{ socket: Socket; received: () => Buffer; ended: () => boolean; closed: () => boolean }> {
  const socket = connect({ host: '127.0.0.1', port: proxy.port });
  sockets.add(socket);
  const parts: Buffer[] = [];
  let ended = false;
  let closed = false;
  socket.on('data', (chunk: Buffer) => parts.push(chunk));
  socket.on('end', () => {
    ended = true;
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => undefined);
  // A refused connection may be reset before its 'connect' event: either ends the wait.
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  return { socket, received: () => Buffer.concat(parts), ended: () => ended, closed: () => closed };
}

beforeAll(async () => {
  echo = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: (echo.address() as AddressInfo).port } });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

describe('fault proxy', () => {
  it('refuses a target that is not loopback', async () => {
    await expect(FaultProxy.start({ target: { host: '10.0.0.1', port: 1 } })).rejects.toThrow(/loopback/);
  });

  it('passes bytes intact under latency and a bandwidth cap', async () => {
    proxy.setFaults({ latencyMs: 30, bytesPerSec: 2 * 1024 * 1024 });
    const peer = await open();
    const data = randomBytes(300 * 1024);
    peer.socket.write(data);
    await waitUntil('the echo', () => (peer.received().length >= data.length ? true : undefined), 20_000);
    expect(peer.received().equals(data)).toBe(true);
    proxy.clearFaults();
    peer.socket.destroy();
  });

  it('holds bytes during a stall and releases them when it is cleared', async () => {
    proxy.setFaults({ stallMs: 60_000 });
    const peer = await open();
    peer.socket.write('held');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(peer.received().length).toBe(0);
    proxy.clearFaults();
    await waitUntil('the released echo', () => (peer.received().toString() === 'held' ? true : undefined), 10_000);
    peer.socket.destroy();
  });

  it('cuts a connection after exactly N bytes downstream', async () => {
    proxy.setFaults({ cutAfterBytes: { down: 1000 } });
    const peer = await open();
    peer.socket.write(randomBytes(5000));
    await waitUntil('the cut', () => (peer.closed() ? true : undefined), 10_000);
    expect(peer.received().length).toBe(1000);
    proxy.clearFaults();
  });

  it('cuts a connection after exactly N bytes upstream', async () => {
    proxy.setFaults({ cutAfterBytes: { up: 10 } });
    const before = proxy.stats().bytes.up;
    const peer = await open();
    peer.socket.write(randomBytes(64));
    await waitUntil('the cut', () => (peer.closed() ? true : undefined), 10_000);
    expect(proxy.stats().bytes.up - before).toBe(10);
    expect(peer.received().length).toBeLessThanOrEqual(10);
    proxy.clearFaults();
  });

  it('goes half-open: bytes are swallowed and no end arrives, then flows again when cleared', async () => {
    const peer = await open();
    proxy.setFaults({ halfOpen: ['down'] });
    peer.socket.write('lost');
    await waitUntil('the bytes swallowed', () => (proxy.stats().swallowed >= 4 ? true : undefined), 10_000);
    peer.socket.end();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(peer.received().length).toBe(0);
    expect(peer.ended()).toBe(false);
    proxy.clearFaults();
    const again = await open();
    again.socket.write('back');
    await waitUntil('the echo', () => (again.received().toString() === 'back' ? true : undefined), 10_000);
    again.socket.destroy();
    peer.socket.destroy();
  });

  it('refuses new connections while told to, and resets every open one on dropAll', async () => {
    const peer = await open();
    proxy.dropAll();
    await waitUntil('the reset', () => (peer.closed() ? true : undefined), 10_000);
    proxy.setFaults({ refuse: true });
    const refused = await open();
    await waitUntil('the refusal', () => (refused.closed() ? true : undefined), 10_000);
    proxy.clearFaults();
  });
});
