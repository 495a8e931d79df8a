/**
 * Issue 3, "Done when" 7 (server side): random bytes get an error or a close, never a
 * crash, and other connections keep working; framing violations are answered and closed;
 * a failed request leaves the connection usable; silent peers are closed.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPeer, errCode, sha256 } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let steady: RawPeer;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'alice', PASSWORD);
  steady = await RawPeer.login(server.port, 'alice', PASSWORD);
});

afterAll(async () => {
  await steady?.destroy();
  await server?.dispose();
});

/** Waits for the first message or the close, at most `ms`; true when something came. */
async function answered(peer: RawPeer, ms: number): Promise<boolean> {
  try {
    await peer.next(ms);
    return true;
  } catch {
    // Nothing within the time: the peer is still connected and waiting for more bytes.
    return false;
  }
}

async function expectSteadyWorks(): Promise<void> {
  const data = randomBytes(50_000);
  const result = await steady.upload(`steady/${sha256(data).slice(0, 8)}.bin`, data);
  expect(result.reply.head).toBe('OK');
}

describe('hostile input', () => {
  it('survives random bytes in every phase and keeps serving other connections', async () => {
    const phases = ['greeting', 'hello', 'session'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...phases), fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (phase, bytes) => {
        const peer =
          phase === 'session' ? await RawPeer.login(server.port, 'alice', PASSWORD) : await RawPeer.connect(server.port);
        try {
          peer.write(phase === 'hello' ? Buffer.concat([Buffer.from('HELLO '), bytes]) : bytes);
          await answered(peer, 300);
        } finally {
          await peer.destroy();
        }
        expect(server.process.exitCode).toBeNull();
      }),
      { numRuns: 60 },
    );
    await expectSteadyWorks();
    expect(server.logs()).not.toMatch(/"level":(50|60)/);
  });

  it('answers an over-long line and an over-size frame, then closes', async () => {
    const long = await RawPeer.login(server.port, 'alice', PASSWORD);
    long.write(Buffer.alloc(70 * 1024, 0x41));
    expect(errCode(await long.line())).toBe('TOO_LARGE');
    await long.closed;
    const big = await RawPeer.login(server.port, 'alice', PASSWORD);
    big.write(Buffer.from([0xfd, 0, 0x7f, 0xff, 0xff, 0xff]));
    expect(errCode(await big.line())).toBe('TOO_LARGE');
    await big.closed;
    await expectSteadyWorks();
  });

  it('keeps the connection usable after bad requests', async () => {
    const peer = await RawPeer.login(server.port, 'alice', PASSWORD);
    peer.write(Buffer.from('STAT {not json\n'));
    expect(errCode(await peer.line())).toBe('BAD_REQUEST');
    expect(errCode(await peer.request('FROBNICATE', {}))).toBe('BAD_REQUEST');
    expect(errCode(await peer.request('UPLOAD', { path: 'x', size: -1 }))).toBe('BAD_REQUEST');
    peer.sendFrame(Buffer.from('stray'));
    expect(errCode(await peer.line())).toBe('BAD_REQUEST');
    expect(errCode(await peer.request('HELLO', { version: 2 }))).toBe('BAD_REQUEST');
    expect(errCode(await peer.request('STAT', { path: 'nothing/here' }))).toBe('NOT_FOUND');
    const list = await peer.list();
    expect('entries' in list).toBe(true);
    await peer.quit();
  });

  it('refuses a gzip frame that inflates past the chunk size', async () => {
    const peer = await RawPeer.login(server.port, 'alice', PASSWORD);
    const data = Buffer.alloc(4 * 1024 * 1024);
    const ready = await peer.request('UPLOAD', { path: 'bomb.bin', size: data.length, sha256: sha256(data), mtimeMs: 1 });
    expect(ready.head).toBe('READY TO RECEIVE FILE');
    peer.sendFrame(gzipSync(data), 1);
    expect(errCode(await peer.line())).toBe('BAD_REQUEST');
    await peer.closed;
  });
});

describe('login', () => {
  it('gives a wrong user and a wrong password the same answer, and closes', async () => {
    const replies: unknown[] = [];
    for (const [user, password] of [
      ['alice', 'wrong password'],
      ['nobody', PASSWORD],
    ] as const) {
      const peer = await RawPeer.connect(server.port);
      expect(peer.greeting).toBe("AUTH REQUIRED. SEND 'USERNAME:PASSWORD'");
      await peer.request('HELLO', { version: 2 });
      replies.push((await peer.request('AUTH', { user, password })).body);
      await peer.closed;
    }
    expect(replies[0]).toEqual({ code: 'AUTH_FAILED', message: 'invalid username or password' });
    expect(replies[1]).toEqual(replies[0]);
  });

  it('refuses requests before AUTH and an unknown protocol version', async () => {
    const early = await RawPeer.connect(server.port);
    await early.request('HELLO', { version: 2 });
    expect(errCode(await early.request('LIST', {}))).toBe('AUTH_FAILED');
    await early.closed;
    const future = await RawPeer.connect(server.port);
    expect(errCode(await future.request('HELLO', { version: 3 }))).toBe('UNSUPPORTED');
    await future.closed;
  });

  it('negotiates the smaller chunk and window, clamped to the limits', async () => {
    const peer = await RawPeer.connect(server.port);
    const hello = await peer.request('HELLO', { version: 2, chunkBytes: 1000, windowBytes: 10, compress: ['zstd'] });
    expect(hello.body).toMatchObject({ version: 2, chunkBytes: 4096, windowBytes: 4096, compress: [] });
    await peer.destroy();
  });
});

describe('silent peers', () => {
  it('closes a logged-in connection idle past the idle timeout with TIMEOUT', async () => {
    const strict = await startServer({ args: ['--idle-timeout', '1'] });
    try {
      await addUser(strict.dataDir, 'alice', PASSWORD);
      const peer = await RawPeer.login(strict.port, 'alice', PASSWORD);
      expect(errCode(await peer.line(20_000))).toBe('TIMEOUT');
      await peer.closed;
    } finally {
      await strict.dispose();
    }
  });
});
