/**
 * Issue 3, "Done when" 3: SIGTERM with clients connected. Every FOS/2 client gets
 * `SERVER SHUTDOWN`, new requests get SHUTTING_DOWN, a transfer in flight may finish
 * within the grace period, one that does not is cut but stays resumable and never appears
 * under its name, and the server exits 0.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LineMessage } from '../src/protocol/frame-decoder.js';
import { RawPeer, errCode, sha256 } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const CHUNK = 256 * 1024;
let server: TestServer | undefined;
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) await peer.destroy();
  await server?.dispose();
  server = undefined;
});

async function login(s: TestServer): Promise<RawPeer> {
  const peer = await RawPeer.login(s.port, 'alice', PASSWORD);
  peers.push(peer);
  return peer;
}

/** Reads lines until one with `head`; acknowledgements on the way are skipped. */
async function lineWith(peer: RawPeer, head: string): Promise<LineMessage> {
  for (;;) {
    const line = await peer.line();
    if (line.head === head) return line;
    if (line.head !== 'CHUNK RECEIVED') throw new Error(`expected ${head}, got ${line.head} ${JSON.stringify(line.body)}`);
  }
}

/** Starts an upload and sends its first `chunks` chunks, waiting for their acknowledgement. */
async function startUpload(peer: RawPeer, path: string, data: Buffer, chunks: number): Promise<void> {
  const ready = await peer.request('UPLOAD', { path, size: data.length, sha256: sha256(data), mtimeMs: 1_764_000_000_000 });
  expect(ready.head).toBe('READY TO RECEIVE FILE');
  for (let i = 0; i < chunks; i += 1) peer.sendFrame(data.subarray(i * CHUNK, (i + 1) * CHUNK));
  let acked = 0;
  while (acked < chunks * CHUNK) {
    const ack = await peer.line();
    expect(ack.head).toBe('CHUNK RECEIVED');
    acked = ack.body['offset'] as number;
  }
}

describe('graceful shutdown', () => {
  it('notifies every client, lets a transfer finish, cuts a stalled one resumably, and exits 0', async () => {
    server = await startServer({ args: ['--grace', '3'] });
    await addUser(server.dataDir, 'alice', PASSWORD);
    const idle = [await login(server), await login(server), await login(server)];
    const finishing = await login(server);
    const stalled = await login(server);
    const finishingData = randomBytes(4 * CHUNK);
    const stalledData = randomBytes(8 * CHUNK);
    await startUpload(finishing, 'finished.bin', finishingData, 2);
    await startUpload(stalled, 'stalled.bin', stalledData, 3);

    const exited = server.stop('SIGTERM');
    for (const peer of [...idle, finishing, stalled]) {
      const notice = await lineWith(peer, 'SERVER SHUTDOWN');
      expect(notice.body['graceMs']).toBe(3000);
    }
    // New requests in the grace period are refused; the transfer in flight goes on.
    expect(errCode(await idle[0]!.request('STAT', { path: 'finished.bin' }))).toBe('SHUTTING_DOWN');
    for (let i = 2; i < 4; i += 1) finishing.sendFrame(finishingData.subarray(i * CHUNK, (i + 1) * CHUNK));
    finishing.send('EOF');
    const done = await lineWith(finishing, 'OK');
    expect(done.body['entry']).toMatchObject({ path: 'finished.bin', sha256: sha256(finishingData) });

    expect(await exited).toBe(0);
    await Promise.all(peers.map((peer) => peer.closed));
    expect(server.logs()).toContain('"msg":"stopped"');

    await server.restart();
    const after = await login(server);
    const finished = await after.download('finished.bin');
    expect('data' in finished && finished.data.equals(finishingData)).toBe(true);
    await expect(stat(join(server.dataDir, 'uploads', 'alice', 'stalled.bin'))).rejects.toThrow();
    expect(errCode(await after.request('STAT', { path: 'stalled.bin' }))).toBe('NOT_FOUND');
    const resumed = await after.upload('stalled.bin', stalledData);
    expect(resumed.reply.head).toBe('OK');
    expect(resumed.offset).toBeGreaterThanOrEqual(3 * CHUNK);
  });

  it('exits 0 on SIGINT at once when nothing is in flight', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    const peer = await login(server);
    const exited = server.stop('SIGINT');
    expect((await lineWith(peer, 'SERVER SHUTDOWN')).body['graceMs']).toBe(10_000);
    await peer.closed;
    expect(await exited).toBe(0);
  });
});
