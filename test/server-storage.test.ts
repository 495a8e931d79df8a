/**
 * Start-up reconciliation and the account commands: files added or removed by hand while
 * the server was down appear in the change feed; stray temporary files are cleaned; and
 * `fos user add|passwd|list|import|tokens|remove` manage accounts in the data folder.
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../src/protocol/types.js';
import { RawPeer, errCode, sha256 } from './support/fos2.js';
import { addUser, runFos, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
let server: TestServer | undefined;

afterEach(async () => {
  await server?.dispose();
  server = undefined;
});

async function feed(peer: RawPeer, since: number): Promise<{ entries: Entry[]; rev: number }> {
  const listing = await peer.list({ since });
  if (!('entries' in listing)) throw new Error(`LIST failed: ${JSON.stringify(listing.body)}`);
  return listing;
}

describe('start-up reconciliation', () => {
  it('picks up files added, changed and removed by hand, and drops fos temporaries', async () => {
    server = await startServer();
    await addUser(server.dataDir, 'alice', PASSWORD);
    let peer = await RawPeer.login(server.port, 'alice', PASSWORD);
    for (const name of ['stays.txt', 'goes.txt', 'changes.txt', 'dir/inner.txt']) {
      expect((await peer.upload(name, Buffer.from(`v1 ${name}`))).reply.head).toBe('OK');
    }
    const { rev } = await feed(peer, 0);
    await peer.destroy();
    await server.stop();

    const root = join(server.dataDir, 'uploads', 'alice');
    await writeFile(join(root, 'added.txt'), 'by hand');
    await mkdir(join(root, 'new-dir/deeper'), { recursive: true });
    await rm(join(root, 'goes.txt'));
    await rm(join(root, 'dir'), { recursive: true });
    await writeFile(join(root, 'changes.txt'), 'changed by hand, longer');
    await writeFile(join(root, '.fos-tmp-leftover'), 'crash leftover');
    await mkdir(join(server.dataDir, 'tmp', 'alice'), { recursive: true });
    await writeFile(join(server.dataDir, 'tmp', 'alice', 'junk'), 'not a partial upload');

    await server.restart();
    peer = await RawPeer.login(server.port, 'alice', PASSWORD);
    const changes = await feed(peer, rev);
    const byPath = new Map(changes.entries.map((e) => [e.path, e]));
    expect(byPath.get('added.txt')).toMatchObject({ kind: 'file', deleted: false, sha256: sha256(Buffer.from('by hand')) });
    expect(byPath.get('changes.txt')).toMatchObject({ deleted: false, sha256: sha256(Buffer.from('changed by hand, longer')) });
    expect(byPath.get('goes.txt')).toMatchObject({ deleted: true });
    expect(byPath.get('dir')).toMatchObject({ deleted: true });
    expect(byPath.get('dir/inner.txt')).toMatchObject({ deleted: true });
    expect(byPath.get('new-dir/deeper')).toMatchObject({ kind: 'dir', deleted: false });
    expect(byPath.has('stays.txt')).toBe(false);
    expect(byPath.has('.fos-tmp-leftover')).toBe(false);
    await expect(stat(join(root, '.fos-tmp-leftover'))).rejects.toThrow();
    expect(await readdir(join(server.dataDir, 'tmp', 'alice'))).toEqual([]);
    const got = await peer.download('added.txt');
    expect('data' in got && got.data.toString()).toBe('by hand');
    await peer.destroy();

    // A second start with nothing changed commits nothing.
    await server.restart();
    peer = await RawPeer.login(server.port, 'alice', PASSWORD);
    expect((await feed(peer, changes.rev)).entries).toEqual([]);
    await peer.destroy();
  });
});

// Each `fos` run is a process start; on a loaded machine that takes seconds, hence the
// longer bound on these tests.
const CLI_TIMEOUT_MS = 120_000;

describe('fos user', () => {
  it(
    'adds accounts and refuses duplicates, weak passwords and a missing password source',
    async () => {
      server = await startServer();
      const data = ['--data', server.dataDir];
      await addUser(server.dataDir, 'alice', PASSWORD);
      const again = await runFos(['user', 'add', 'alice', ...data, '--password-stdin'], `${PASSWORD}\n`);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain('already exists');
      const weak = await runFos(['user', 'add', 'weak', ...data, '--password-stdin'], 'short\n');
      expect(weak.stderr).toContain('too short');
      expect((await runFos(['user', 'add', 'nostdin', ...data])).stderr).toContain('use --password-stdin');
      const list = await runFos(['user', 'list', ...data, '--json']);
      expect((JSON.parse(list.stdout) as { name: string }[]).map((a) => a.name)).toEqual(['alice']);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "imports the seed's id_passwd.txt, reporting bad lines by number",
    async () => {
      server = await startServer();
      const data = ['--data', server.dataDir];
      const idPasswd = join(server.dataDir, 'id_passwd.txt');
      await writeFile(idPasswd, 'bob:seedpass\nno colon here\ncarol:another:secret\n\nbad name:x\nbob:twice\n');
      const imported = await runFos(['user', 'import', idPasswd, ...data]);
      expect(imported.stdout).toContain('imported 2 of 5 accounts');
      expect(imported.stderr).toMatch(/:2: skipped/);
      expect(imported.stderr).toMatch(/:5: skipped/);
      expect(imported.stderr).toMatch(/:6: skipped/);
      expect(imported.stderr).not.toContain('seedpass');
      const carol = await RawPeer.login(server.port, 'carol', 'another:secret');
      await carol.quit();
      const bob = await RawPeer.login(server.port, 'bob', 'seedpass');
      await bob.quit();
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'changes a password and lists and revokes device tokens',
    async () => {
      server = await startServer();
      const data = ['--data', server.dataDir];
      await addUser(server.dataDir, 'alice', PASSWORD);
      expect((await runFos(['user', 'passwd', 'alice', ...data, '--password-stdin'], 'a new long password\n')).code).toBe(0);
      const old = await RawPeer.connect(server.port);
      await old.request('HELLO', { version: 2 });
      expect(errCode(await old.request('AUTH', { user: 'alice', password: PASSWORD }))).toBe('AUTH_FAILED');
      const alice = await RawPeer.login(server.port, 'alice', 'a new long password');
      const token = await alice.request('TOKEN', { device: 'phone' });
      const tokens = await runFos(['user', 'tokens', 'alice', ...data, '--json']);
      const [info] = JSON.parse(tokens.stdout) as { id: string; device: string }[];
      expect(info).toMatchObject({ id: token.body['id'], device: 'phone' });
      expect((await runFos(['user', 'tokens', 'alice', ...data, '--revoke', info!.id])).code).toBe(0);
      expect(JSON.parse((await runFos(['user', 'tokens', 'alice', ...data, '--json'])).stdout)).toEqual([]);
      await alice.quit();
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'removes an account only with --yes off a terminal, and moves its files to the trash',
    async () => {
      server = await startServer();
      const data = ['--data', server.dataDir];
      await addUser(server.dataDir, 'alice', PASSWORD);
      const alice = await RawPeer.login(server.port, 'alice', PASSWORD);
      expect((await alice.upload('keep/me.txt', Buffer.from('mine'))).reply.head).toBe('OK');
      await alice.quit();
      expect((await runFos(['user', 'remove', 'alice', ...data])).stderr).toContain('--yes');
      expect((await runFos(['user', 'remove', 'alice', ...data, '--yes'])).code).toBe(0);
      await expect(stat(join(server.dataDir, 'uploads', 'alice'))).rejects.toThrow();
      const trashed = await readdir(join(server.dataDir, 'trash', 'alice'));
      expect(trashed.some((name) => name.endsWith('-account'))).toBe(true);
      const gone = await RawPeer.connect(server.port);
      await gone.request('HELLO', { version: 2 });
      expect(errCode(await gone.request('AUTH', { user: 'alice', password: PASSWORD }))).toBe('AUTH_FAILED');
    },
    CLI_TIMEOUT_MS,
  );
});

describe('--config', () => {
  it("takes the server section's settings, with command-line flags winning", { timeout: CLI_TIMEOUT_MS }, async () => {
    server = await startServer();
    const file = join(server.dataDir, 'server.json');
    await writeFile(file, JSON.stringify({ server: { data: server.dataDir, port: 1, graceMs: 1234 } }));
    const added = await runFos(['user', 'add', 'zoe', '--config', file, '--password-stdin'], `${PASSWORD}\n`);
    expect(added.code).toBe(0);
    expect((await runFos(['user', 'list', '--config', file])).stdout).toContain('zoe');
    const first = server;
    await first.stop();
    server = await startServer({ dataDir: first.dataDir, args: ['--config', file] });
    const peer = await RawPeer.login(server.port, 'zoe', PASSWORD);
    const exited = server.stop('SIGTERM');
    expect((await peer.line()).body).toEqual({ graceMs: 1234 });
    expect(await exited).toBe(0);
    await peer.destroy();
    await first.dispose();
  });
});
