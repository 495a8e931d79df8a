/**
 * Issue 3, "Done when" 1: byte-identical round trips over FOS/2 against the real server
 * (sizes around the seed's 4 KiB chunk, a megabyte and one, 100 MiB of random data, a
 * file whose content is `EOF`, nested paths, non-ASCII names), through the raw protocol
 * and through the client library.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosClient } from '../src/client/session.js';
import type { ConnectionOptions } from '../src/client/types.js';
import { FEATURE } from '../src/protocol/constants.js';
import { downloadFile } from '../src/client/download.js';
import { uploadFile } from '../src/client/upload.js';
import { RawPeer, errCode, sha256 } from './support/fos2.js';
import { addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let peer: RawPeer;
let scratch: string;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'alice', PASSWORD);
  peer = await RawPeer.login(server.port, 'alice', PASSWORD);
  scratch = await mkdtemp(join(tmpdir(), 'fos-roundtrip-'));
});

afterAll(async () => {
  await peer?.destroy();
  await server?.dispose();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function roundTrip(path: string, data: Buffer, compress = false): Promise<void> {
  const upload = await peer.upload(path, data);
  expect(upload.reply.head, JSON.stringify(upload.reply.body)).toBe('OK');
  const entry = upload.reply.body['entry'] as Record<string, unknown>;
  expect(entry).toMatchObject({ path: path.normalize('NFC'), kind: 'file', size: data.length, sha256: sha256(data), deleted: false });
  const got = await peer.download(path, { compress });
  if (!('data' in got)) throw new Error(`download failed: ${JSON.stringify(got.body)}`);
  expect(got.data.length).toBe(data.length);
  expect(got.data.equals(data)).toBe(true);
  expect(got.eof.body['sha256']).toBe(sha256(data));
  const onDisk = await readFile(join(server.dataDir, 'uploads', 'alice', ...path.normalize('NFC').split('/')));
  expect(onDisk.equals(data)).toBe(true);
}

describe('round trips over FOS/2', () => {
  for (const size of [0, 1, 4095, 4096, 4097, 1024 * 1024 + 1]) {
    it(`keeps ${size} random bytes identical`, async () => {
      await roundTrip(`sizes/${size}.bin`, randomBytes(size));
    });
  }

  it('keeps a file whose content is EOF', async () => {
    await roundTrip('eof.txt', Buffer.from('EOF'));
  });

  it('keeps nested paths and non-ASCII names', async () => {
    await roundTrip('a/b/c/d/e/deep.txt', randomBytes(5000));
    await roundTrip('Ünïcödé/日本語 フォルダ/résumé ✓.txt', randomBytes(7000));
    await roundTrip('spaces and %2e%2e/ok', randomBytes(10));
    const listing = await peer.list({ recursive: true });
    if (!('entries' in listing)) throw new Error('LIST failed');
    const paths = listing.entries.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['a', 'a/b', 'a/b/c/d/e/deep.txt', 'Ünïcödé/日本語 フォルダ/résumé ✓.txt']));
  });

  it('normalises a decomposed (NFD) name to NFC', async () => {
    const nfd = 'cafe\u0301.txt';
    await roundTrip(nfd, Buffer.from('coffee'));
    const entry = await peer.entry('STAT', { path: 'caf\u00e9.txt' });
    expect(entry.path).toBe('caf\u00e9.txt');
  });

  it('gzips compressible chunks on request and still delivers the same bytes', async () => {
    await roundTrip('text/zeros.bin', Buffer.alloc(3 * 256 * 1024 + 17, 0x61), true);
    await roundTrip('text/random.bin', randomBytes(300_000), true);
  });

  it('resumes a download from an offset', async () => {
    const data = randomBytes(600_000);
    await roundTrip('resume/dl.bin', data);
    const got = await peer.download('resume/dl.bin', { offset: 250_000 });
    if (!('data' in got)) throw new Error('download failed');
    expect(got.data.equals(data.subarray(250_000))).toBe(true);
  });

  it('previews the first 1024 bytes by default', async () => {
    const data = randomBytes(5000);
    await roundTrip('preview.bin', data);
    const sending = await peer.request('PREVIEW', { path: 'preview.bin' });
    expect(sending.head).toBe('SENDING');
    const frame = await peer.next();
    expect(frame?.kind).toBe('data');
    if (frame?.kind !== 'data') return;
    expect(Buffer.from(frame.payload).equals(data.subarray(0, 1024))).toBe(true);
    expect((await peer.line()).head).toBe('EOF');
  });

  it('answers a missing file with NOT_FOUND and stays usable', async () => {
    const reply = await peer.download('no/such/file');
    expect('data' in reply ? null : errCode(reply)).toBe('NOT_FOUND');
    expect((await peer.entry('STAT', { path: 'eof.txt' })).size).toBe(3);
  });

  // The library hashes while it sends (eof-hash); an older server gets the hash up front.
  for (const features of [undefined, [FEATURE.delta, FEATURE.uploads]]) {
    it(`moves 100 MiB of random data through the client library, byte-identical (${features === undefined ? 'hash at EOF' : 'hash first'})`, async () => {
      const source = join(scratch, 'big.bin');
      const target = join(scratch, 'big.out');
      const data = randomBytes(100 * 1024 * 1024);
      await writeFile(source, data);
      const client = await connectAlice(features === undefined ? {} : { features });
      try {
        expect(client.negotiated.features.includes(FEATURE.eofHash)).toBe(features === undefined);
        const remote = `big/random-${features === undefined ? 'eof' : 'first'}.bin`;
        const entry = await uploadFile(client.connection, source, remote);
        expect(entry.sha256).toBe(sha256(data));
        await downloadFile(client.connection, remote, target);
        const back = await readFile(target);
        expect(back.length).toBe(data.length);
        expect(back.equals(data)).toBe(true);
      } finally {
        await client.close();
        await rm(target, { force: true });
      }
    });
  }

  it('a file that changes while the library sends it (hash at EOF) is refused as changed, and nothing takes its name', async () => {
    const source = join(scratch, 'growing.bin');
    await writeFile(source, randomBytes(8 * 1024 * 1024));
    const client = await connectAlice();
    let touched = false;
    try {
      const upload = uploadFile(client.connection, source, 'growing.bin', {
        onProgress: () => {
          if (touched) return;
          touched = true;
          void appendFile(source, 'one more line\n');
        },
      });
      await expect(upload).rejects.toMatchObject({ code: 'FOS_ERR_SYNC_LOCAL_CHANGED' });
    } finally {
      await client.close();
    }
    expect(touched).toBe(true);
    expect(errCode(await peer.request('STAT', { path: 'growing.bin' }))).toBe('NOT_FOUND');
    const again = await connectAlice();
    try {
      const entry = await uploadFile(again.connection, source, 'growing.bin');
      expect(entry.sha256).toBe(sha256(await readFile(source)));
    } finally {
      await again.close();
    }
  });
});

describe('resuming an upload whose hash comes at EOF', () => {
  it('bytes left by another content of the same size and mtime are thrown away and the file is sent whole', async () => {
    const size = 3 * 1024 * 1024;
    const mtimeMs = 1_764_000_000_000;
    const cut = await peer.upload('same-stamp.bin', randomBytes(size), { eofSha256: true, mtimeMs, stopAfter: size / 2 });
    expect(cut.reply.head).toBe('CHUNK RECEIVED');
    // The cut connection is gone; log in again for the rest of the file's tests.
    await peer.destroy();
    peer = await RawPeer.login(server.port, 'alice', PASSWORD);

    const source = join(scratch, 'same-stamp.bin');
    const data = randomBytes(size);
    await writeFile(source, data);
    await utimes(source, mtimeMs / 1000, mtimeMs / 1000);
    const client = await connectAlice();
    try {
      const entry = await uploadFile(client.connection, source, 'same-stamp.bin');
      expect(entry.sha256).toBe(sha256(data));
    } finally {
      await client.close();
    }
    const got = await peer.download('same-stamp.bin');
    if (!('data' in got)) throw new Error(`download failed: ${JSON.stringify(got.body)}`);
    expect(got.data.equals(data)).toBe(true);
  });
});

function connectAlice(options: Partial<ConnectionOptions> = {}): Promise<FosClient> {
  return FosClient.connect({
    address: { host: server.host, port: server.port },
    credentials: { kind: 'password', user: 'alice', password: PASSWORD },
    ...options,
  });
}
