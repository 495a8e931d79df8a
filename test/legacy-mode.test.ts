/**
 * Legacy mode against the seed's own client (issue 3, "Done when" item 6): the script in
 * test/legacy/seed_client.py speaks exactly as that client does (legacy-protocol.md) and
 * is driven through its prompts by standard input, against a real `fos server`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addUser, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';

const SCRIPT = fileURLToPath(new URL('./legacy/seed_client.py', import.meta.url));
const USER = 'alice';
const PASSWORD = 'Legacy-pass-2024';
const PROMPT = 'Enter command (';
const WAIT_MS = 20_000;

/** The seed client as a child process, with its output so far. */
interface SeedClient {
  readonly child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Types a line at the client's prompt. */
  type(line: string): void;
  /** Resolves once the client has printed `text` `count` times. */
  waitFor(text: string, count?: number): Promise<void>;
  /** Resolves with the exit code. */
  exited(): Promise<number | null>;
}

let server: TestServer;
let work: string;
const clients: SeedClient[] = [];

function runSeedClient(port: number, args: readonly string[] = []): SeedClient {
  const child = spawn('python3', ['-u', SCRIPT, '127.0.0.1', String(port), ...args], { cwd: work, stdio: 'pipe' });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    output += text;
  });
  child.stderr.on('data', (text: string) => {
    output += text;
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const client: SeedClient = {
    child,
    output: () => output,
    type(line) {
      child.stdin.write(`${line}\n`);
    },
    async waitFor(text, count = 1) {
      const deadline = Date.now() + WAIT_MS;
      while (output.split(text).length - 1 < count) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`the seed client did not print ${JSON.stringify(text)} ${count} times:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async exited() {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the seed client did not exit:\n${output}`)), WAIT_MS);
      });
      try {
        return await Promise.race([exit, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  clients.push(client);
  return client;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fos-legacy-'));
  server = await startServer();
  await addUser(server.dataDir, USER, PASSWORD);
});

afterEach(() => {
  for (const client of clients.splice(0)) if (client.child.exitCode === null) client.child.kill('SIGKILL');
});

afterAll(async () => {
  await server.dispose();
  await rm(work, { recursive: true, force: true });
});

describe('legacy mode with the seed client', () => {
  it('uploads, lists, previews, downloads byte-identical, refuses an unknown word and deletes into the trash', async () => {
    const files: Record<string, Buffer> = {
      'photo.bin': randomBytes(100 * 1024 + 1),
      'exact.bin': randomBytes(4096),
      'empty.txt': Buffer.alloc(0),
      'notes.txt': Buffer.from(Array.from({ length: 200 }, (_, i) => `line ${i}: the quick brown fox\n`).join('')),
      'docs/plan.txt': Buffer.from('a nested path, kept as one\n'),
    };
    await mkdir(join(work, 'docs'), { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeFile(join(work, name), content);
    const downloads = join(work, 'downloads');
    const previews = join(work, 'previews');
    await mkdir(join(downloads, 'docs'), { recursive: true });
    await mkdir(previews);

    const names = Object.keys(files);
    const input = [
      `${USER}:${PASSWORD}`,
      ...names.flatMap((name) => ['UPLOAD', name]),
      'LIST',
      'PREVIEW',
      'notes.txt',
      'PREVIEW',
      'missing.txt',
      ...names.flatMap((name) => ['DOWNLOAD', name]),
      'RENAME',
      'DELETE',
      'notes.txt',
      'LIST',
      'EXIT',
    ];
    const client = runSeedClient(server.port, ['--download-dir', downloads, '--save-previews', previews]);
    client.child.stdin.end(`${input.join('\n')}\n`);
    expect(await client.exited()).toBe(0);
    const output = client.output();

    expect(output).toContain('Server: AUTH SUCCESSFUL. SESSION STARTED.');
    for (const name of names) expect(output).toContain(`Server: UPLOAD SUCCESSFUL: ${name}`);
    // No reply ever missed the client's one-second timeout.
    expect(output).not.toContain('No response from the server');
    expect(output).toContain(`Server: FILES:\n${[...names].sort().join('\n')}\n`);

    expect(await readFile(join(previews, 'notes.txt.preview'))).toEqual(files['notes.txt']?.subarray(0, 1024));
    expect(output).toContain('Preview:\nPREVIEW FAILED\n');

    for (const [name, content] of Object.entries(files)) {
      expect(await readFile(join(downloads, name)), name).toEqual(content);
    }

    expect(output).toContain('Server: INVALID COMMAND');
    expect(output).toContain("Server: FILE 'notes.txt' DELETED SUCCESSFULLY.");
    const remaining = names.filter((name) => name !== 'notes.txt').sort();
    expect(output).toContain(`Server: FILES:\n${remaining.join('\n')}\n`);

    // The deleted version is in the user's trash, as a FOS/2 delete leaves it.
    const trash = join(server.dataDir, 'trash', USER);
    const kept = await Promise.all((await readdir(trash)).map((id) => readFile(join(trash, id))));
    expect(kept).toContainEqual(files['notes.txt']);
    expect(await readdir(join(server.dataDir, 'uploads', USER))).not.toContain('notes.txt');
  });

  it('refuses a wrong password and closes the connection', async () => {
    const client = runSeedClient(server.port);
    client.child.stdin.end(`${USER}:not-the-password\n`);
    expect(await client.exited()).toBe(1);
    expect(client.output()).toContain('Server: AUTH FAILED. CLOSING CONNECTION.');
    expect(client.output()).not.toContain(PROMPT);
  });

  it('refuses an unknown user with the same answer', async () => {
    const client = runSeedClient(server.port);
    client.child.stdin.end(`mallory:${PASSWORD}\n`);
    expect(await client.exited()).toBe(1);
    expect(client.output()).toContain('Server: AUTH FAILED. CLOSING CONNECTION.');
  });
});

describe('legacy mode shutdown', () => {
  it('tells a connected seed client SERVER SHUTDOWN on SIGTERM and exits 0', async () => {
    const own = await startServer();
    try {
      await addUser(own.dataDir, USER, PASSWORD);
      const client = runSeedClient(own.port);
      client.type(`${USER}:${PASSWORD}`);
      await client.waitFor(PROMPT);
      client.type('LIST');
      await client.waitFor('NO FILES FOUND');
      await client.waitFor(PROMPT, 2);

      expect(await own.stop('SIGTERM')).toBe(0);
      // The client sits at its prompt; its next command's first answer is the notice.
      client.type('LIST');
      expect(await client.exited()).toBe(0);
      expect(client.output()).toContain('Server: SERVER SHUTDOWN');
      expect(client.output()).toContain('Server is shutting down. Exiting.');
    } finally {
      await own.dispose();
    }
  });
});
