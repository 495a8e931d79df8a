/**
 * Legacy mode applies fos's path rules (issue 3, "Behaviour the server owes"): every path
 * of the hostile corpus is refused on UPLOAD, DOWNLOAD, PREVIEW and DELETE with the seed's
 * failure text, the connection goes on, and nothing is written outside the user's root.
 */
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_PATHS } from './fixtures/hostile-paths.js';
import type { HostilePath } from './fixtures/hostile-paths.js';
import { LegacySocket, looseUtf8 } from './legacy/legacy-socket.js';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';

const USER = 'alice';
const PASSWORD = 'Legacy-pass-2024';
/** Connections working through the corpus side by side. */
const CONNECTIONS = 6;

let sandbox: string;
let server: TestServer;

/** Every file and folder under `root` with its size, except the metadata database. */
async function snapshot(root: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const walk = async (folder: string): Promise<void> => {
    for (const name of await readdir(folder)) {
      const path = join(folder, name);
      const rel = relative(root, path);
      if (/^data[/\\]fos\.db/u.test(rel)) continue;
      const info = await lstat(path);
      seen.set(rel, info.isDirectory() ? -1 : info.size);
      if (info.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return seen;
}

/** The four operations on one hostile name; resolves with the answers that ended each. */
async function tryAll(peer: LegacySocket, name: Buffer): Promise<string[]> {
  const answers: string[] = [];
  peer.send('UPLOAD');
  expect(await peer.replyText()).toBe("READY TO RECEIVE FILE. SEND 'FILENAME:<filename>'");
  peer.send(Buffer.concat([Buffer.from('FILENAME:'), name]));
  expect(await peer.replyText()).toBe('RECEIVING CHUNKS');
  peer.send('hostile content');
  expect(await peer.replyText()).toBe('CHUNK RECEIVED');
  peer.send('EOF');
  answers.push(await peer.replyText());

  peer.send('DOWNLOAD');
  expect(await peer.replyText()).toBe('SEND FILENAME TO DOWNLOAD');
  peer.send(name);
  answers.push(await peer.replyText());

  peer.send('PREVIEW');
  expect(await peer.replyText()).toBe('SEND FILENAME TO PREVIEW');
  peer.send(name);
  answers.push((await peer.untilEof()).toString('utf8'));

  peer.send('DELETE');
  expect(await peer.replyText()).toBe('SEND FILENAME TO DELETE');
  peer.send(name);
  answers.push(await peer.replyText());
  return answers;
}

beforeAll(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'fos-legacy-paths-'));
  const dataDir = join(sandbox, 'data');
  await mkdir(dataDir);
  // Files a traversal would reach: beside the data folder and in another user's root.
  await writeFile(join(sandbox, 'outside.txt'), 'outside the data folder');
  await writeFile(join(sandbox, 'passwd'), 'root:x:0:0');
  server = await startServer({ dataDir });
  await addUser(dataDir, USER, PASSWORD);
  await addUser(dataDir, 'bob', PASSWORD);
  const { peer, answer } = await LegacySocket.login(server.port, 'bob', PASSWORD);
  expect(answer).toBe('AUTH SUCCESSFUL. SESSION STARTED.');
  peer.send('UPLOAD');
  await peer.replyText();
  peer.send('FILENAME:x.txt');
  await peer.replyText();
  peer.send("bob's file");
  await peer.replyText();
  peer.send('EOF');
  expect(await peer.replyText()).toBe('UPLOAD SUCCESSFUL: x.txt');
  await peer.end();
});

afterAll(async () => {
  await server.dispose();
  await rm(sandbox, { recursive: true, force: true });
});

describe('legacy mode and hostile paths', () => {
  it(`refuses all ${HOSTILE_PATHS.length} hostile paths on every operation and writes nothing anywhere`, async () => {
    expect(HOSTILE_PATHS.length).toBeGreaterThanOrEqual(100);
    const before = await snapshot(sandbox);
    const queue: HostilePath[] = [...HOSTILE_PATHS];
    const accepted: string[] = [];
    const worker = async (): Promise<void> => {
      const { peer, answer } = await LegacySocket.login(server.port, USER, PASSWORD);
      expect(answer).toBe('AUTH SUCCESSFUL. SESSION STARTED.');
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const answers = await tryAll(peer, looseUtf8(next.path));
        const expected = ['UPLOAD FAILED', 'DOWNLOAD FAILED', 'PREVIEW FAILED', 'DELETE FAILED'];
        if (answers.join('|') !== expected.join('|')) accepted.push(`${next.family} ${JSON.stringify(next.path)}: ${answers.join(' | ')}`);
      }
      await peer.end();
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    expect(accepted).toEqual([]);

    expect(await snapshot(sandbox)).toEqual(before);
    expect(await readFile(join(sandbox, 'data', 'uploads', 'bob', 'x.txt'), 'utf8')).toBe("bob's file");

    // The user's root holds nothing and the server still answers.
    const { peer } = await LegacySocket.login(server.port, USER, PASSWORD);
    peer.send('LIST');
    expect((await peer.untilEof()).toString('utf8')).toBe('FILES:\nNO FILES FOUND');
    await peer.end();
  });

  it("keeps users apart: another user's file is not found under the same name", async () => {
    const { peer } = await LegacySocket.login(server.port, USER, PASSWORD);
    peer.send('DOWNLOAD');
    await peer.replyText();
    peer.send('x.txt');
    expect(await peer.replyText()).toBe('DOWNLOAD FAILED');
    peer.send('DELETE');
    await peer.replyText();
    peer.send('x.txt');
    expect(await peer.replyText()).toBe('DELETE FAILED');
    await peer.end();
    expect(await readFile(join(sandbox, 'data', 'uploads', 'bob', 'x.txt'), 'utf8')).toBe("bob's file");
  });
});
