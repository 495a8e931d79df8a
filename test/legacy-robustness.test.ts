/**
 * Legacy mode under peers that are not the polite seed client: garbage before and after
 * login, messages stuck together, uploads cut short, the protocol's own `EOF` flaw, and a
 * shutdown in the middle of a download (issue 3: random bytes get an error or a close,
 * never a crash; an upload cut short never appears under its name).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacySocket } from './legacy/legacy-socket.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';

const USER = 'carol';
const PASSWORD = 'Legacy-pass-2024';
const OK = 'AUTH SUCCESSFUL. SESSION STARTED.';
const POLL_MS = 25;
const DEADLINE_MS = 10_000;

let server: TestServer;

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be replayed. */
function garbage(seed: number, length: number): Buffer {
  let state = seed >>> 0 || 1;
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

async function loggedIn(port = server.port): Promise<LegacySocket> {
  const { peer, answer } = await LegacySocket.login(port, USER, PASSWORD);
  expect(answer).toBe(OK);
  return peer;
}

/** Uploads `content` stop-and-wait in 4096-byte chunks; resolves with the final answer. */
async function upload(peer: LegacySocket, name: string, content: Buffer): Promise<string> {
  peer.send('UPLOAD');
  expect(await peer.replyText()).toBe("READY TO RECEIVE FILE. SEND 'FILENAME:<filename>'");
  peer.send(`FILENAME:${name}`);
  expect(await peer.replyText()).toBe('RECEIVING CHUNKS');
  for (let at = 0; at < content.length; at += 4096) {
    peer.send(content.subarray(at, at + 4096));
    expect(await peer.replyText()).toBe('CHUNK RECEIVED');
  }
  peer.send('EOF');
  return peer.replyText();
}

const DOWNLOAD_STATUS = 'FILE EXISTS. SENDING FILE...';
const DOWNLOAD_FAILED = 'DOWNLOAD FAILED';

/** Downloads a file of a known length; resolves with its bytes, or the failure text. */
async function download(peer: LegacySocket, name: string, length: number): Promise<Buffer | string> {
  peer.send('DOWNLOAD');
  expect(await peer.replyText()).toBe('SEND FILENAME TO DOWNLOAD');
  peer.send(name);
  // The two answers differ in their first bytes; the status may arrive with file bytes.
  const head = (await peer.take(DOWNLOAD_FAILED.length)).toString('latin1');
  if (head === DOWNLOAD_FAILED) return head;
  const rest = await peer.take(DOWNLOAD_STATUS.length - head.length);
  expect(head + rest.toString('latin1')).toBe(DOWNLOAD_STATUS);
  const body = await peer.take(length);
  expect((await peer.take(3)).toString()).toBe('EOF');
  return body;
}

async function listing(peer: LegacySocket): Promise<string> {
  peer.send('LIST');
  return (await peer.untilEof()).toString('utf8');
}

/** SHA-256 of bytes: large buffers compared by digest (a deep compare of megabytes is slow). */
function digest(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function partialFiles(user: string): Promise<string[]> {
  try {
    return await readdir(join(server.dataDir, 'tmp', user));
  } catch {
    // No tmp folder yet: no partial files either.
    return [];
  }
}

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, USER, PASSWORD);
});

afterAll(async () => {
  await server.dispose();
});

describe('legacy mode robustness', () => {
  it('answers garbage after login with INVALID COMMAND or the failure text, and keeps serving', async () => {
    const peer = await loggedIn();
    for (let seed = 1; seed <= 60; seed += 1) {
      const message = garbage(seed, 1 + ((seed * 97) % 1500));
      peer.send(message);
      expect(await peer.replyText(), `seed ${seed}`).toBe('INVALID COMMAND');
    }
    // Garbage where a name belongs: the seed's failure texts, and the upload's chunks are
    // acknowledged and dropped, never read as commands.
    peer.send('UPLOAD');
    await peer.replyText();
    peer.send(garbage(101, 300));
    expect(await peer.replyText()).toBe('RECEIVING CHUNKS');
    peer.send(Buffer.from('DELETE'));
    expect(await peer.replyText()).toBe('CHUNK RECEIVED');
    peer.send(garbage(102, 4096));
    expect(await peer.replyText()).toBe('CHUNK RECEIVED');
    peer.send('EOF');
    expect(await peer.replyText()).toBe('UPLOAD FAILED');
    peer.send('DOWNLOAD');
    await peer.replyText();
    peer.send(garbage(103, 40));
    expect(await peer.replyText()).toBe('DOWNLOAD FAILED');
    peer.send('PREVIEW');
    await peer.replyText();
    peer.send(garbage(104, 40));
    expect((await peer.untilEof()).toString('utf8')).toBe('PREVIEW FAILED');
    peer.send('DELETE');
    await peer.replyText();
    peer.send(garbage(105, 40));
    expect(await peer.replyText()).toBe('DELETE FAILED');
    expect(await listing(peer)).toBe('FILES:\nNO FILES FOUND');

    // A flood no seed client sends: the connection is closed, the server lives on.
    peer.send(garbage(106, 200 * 1024));
    await peer.closed();
    const next = await loggedIn();
    expect(await listing(next)).toBe('FILES:\nNO FILES FOUND');
    await next.end();
    expect(server.process.exitCode).toBeNull();
  });

  it('refuses garbage instead of a login and closes', async () => {
    for (let seed = 200; seed < 210; seed += 1) {
      const peer = await LegacySocket.open(server.port);
      // A first byte other than 'H' keeps the dispatcher from waiting for `HELLO `.
      peer.send(Buffer.concat([Buffer.from([0x01]), garbage(seed, 100)]));
      expect(await peer.replyText()).toBe('AUTH FAILED. CLOSING CONNECTION.');
      await peer.closed();
    }
    const peer = await loggedIn();
    await peer.end();
  });

  it('tells apart messages stuck together where it can', async () => {
    const peer = await loggedIn();
    peer.send('LISTLIST');
    expect((await peer.untilEof()).toString('utf8')).toBe('FILES:\nNO FILES FOUND');
    expect((await peer.untilEof()).toString('utf8')).toBe('FILES:\nNO FILES FOUND');

    peer.send('UPLOADFILENAME:joined.txt');
    let answers = '';
    while (!answers.endsWith('RECEIVING CHUNKS')) answers += await peer.replyText();
    expect(answers).toBe("READY TO RECEIVE FILE. SEND 'FILENAME:<filename>'RECEIVING CHUNKS");
    peer.send('joined');
    expect(await peer.replyText()).toBe('CHUNK RECEIVED');
    peer.send('EOF');
    expect(await peer.replyText()).toBe('UPLOAD SUCCESSFUL: joined.txt');
    expect((await download(peer, 'joined.txt', 6)).toString()).toBe('joined');

    // A word that only starts like a command is not split: DELETEME is no command.
    peer.send('DELETEME');
    expect(await peer.replyText()).toBe('INVALID COMMAND');
    peer.send('DELETE');
    await peer.replyText();
    peer.send('joined.txt');
    expect(await peer.replyText()).toBe("FILE 'joined.txt' DELETED SUCCESSFULLY.");
    await peer.end();
  });

  it('keeps the seed protocol flaw: a last chunk that is exactly EOF ends the file early', async () => {
    const peer = await loggedIn();
    const head = randomBytes(4096);
    peer.send('UPLOAD');
    await peer.replyText();
    peer.send('FILENAME:flaw.bin');
    await peer.replyText();
    peer.send(head);
    expect(await peer.replyText()).toBe('CHUNK RECEIVED');
    // The file's last piece is the three bytes `EOF`: the server cannot tell it from the end.
    peer.send('EOF');
    expect(await peer.replyText()).toBe('UPLOAD SUCCESSFUL: flaw.bin');
    // The client's own end marker then arrives as a command.
    peer.send('EOF');
    expect(await peer.replyText()).toBe('INVALID COMMAND');
    expect(await download(peer, 'flaw.bin', head.length)).toEqual(head);
    await peer.end();
  });

  it('never shows an upload cut short under its name, and keeps the version before it', async () => {
    const first = await loggedIn();
    const before = randomBytes(10_000);
    expect(await upload(first, 'keep.bin', before)).toBe('UPLOAD SUCCESSFUL: keep.bin');
    await first.end();
    // Two uploads cut off after three chunks: a new version of keep.bin and a new file.
    for (const name of ['keep.bin', 'new.bin']) {
      const peer = await loggedIn();
      peer.send('UPLOAD');
      await peer.replyText();
      peer.send(`FILENAME:${name}`);
      expect(await peer.replyText()).toBe('RECEIVING CHUNKS');
      for (let i = 0; i < 3; i += 1) {
        peer.send(randomBytes(4096));
        expect(await peer.replyText()).toBe('CHUNK RECEIVED');
      }
      peer.destroy();
    }

    await until(async () => (await partialFiles(USER)).length === 0, 'the partial uploads are discarded');
    const second = await loggedIn();
    const names = (await listing(second)).split('\n');
    expect(names).toContain('keep.bin');
    expect(names).not.toContain('new.bin');
    expect(await download(second, 'keep.bin', before.length)).toEqual(before);
    expect(await download(second, 'new.bin', 0)).toBe(DOWNLOAD_FAILED);
    await second.end();
  });
});

describe('legacy mode shutdown during a transfer', () => {
  it('lets a download finish byte-identical, then sends SERVER SHUTDOWN on its own and exits 0', async () => {
    const own = await startServer();
    try {
      await addUser(own.dataDir, USER, PASSWORD);
      const peer = await loggedIn(own.port);
      const content = randomBytes(4 * 1024 * 1024 + 7);
      expect(await upload(peer, 'big.bin', content)).toBe('UPLOAD SUCCESSFUL: big.bin');
      peer.send('DOWNLOAD');
      await peer.replyText();
      // A client that does not read yet: the download backs up and is in flight at SIGTERM.
      peer.pauseReading();
      peer.send('big.bin');
      const stopped = own.stop('SIGTERM');
      await until(async () => own.logs().includes('"msg":"shutting down"'), 'the server starts shutting down');
      peer.resumeReading();
      // What backed up arrives in larger reads: the status line and the bytes, then EOF.
      const status = Buffer.from(DOWNLOAD_STATUS);
      const received = await peer.take(status.length + content.length);
      expect(digest(received)).toBe(digest(Buffer.concat([status, content])));
      expect((await peer.take(3)).toString()).toBe('EOF');
      expect(await peer.replyText()).toBe('SERVER SHUTDOWN');
      expect(await stopped).toBe(0);
      const messages = own.logRecords().map((r) => (r['op'] === 'download' ? 'download' : r['msg']));
      expect(messages.indexOf('shutting down')).toBeLessThan(messages.indexOf('download'));
    } finally {
      await own.dispose();
    }
  });
});
