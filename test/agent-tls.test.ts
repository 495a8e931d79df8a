/**
 * The sync agent against `fos server --tls`: `fos init --fingerprint` (or `--ca`) writes
 * the trust into the agent config, `fos sync` and `fos status` then connect with TLS and
 * the pin; a server presenting another certificate is refused, and an unknown server is
 * refused by a `fos init` that has no terminal to ask on.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.js';
import { addUser, printFingerprint, runFos, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery staple';
let dataDir = '';
let home = '';
let server: TestServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fos-agent-tls-data-'));
  home = await mkdtemp(join(tmpdir(), 'fos-agent-tls-home-'));
  await addUser(dataDir, 'alice', PASSWORD);
  server = await startServer({ dataDir, args: ['--tls'] });
});

afterAll(async () => {
  if ((server as TestServer | undefined) !== undefined) await server.dispose();
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

function fingerprint(): Promise<string> {
  return printFingerprint(dataDir);
}

function init(device: string, extra: readonly string[]): ReturnType<typeof runFos> {
  const dir = join(home, device);
  return runFos(
    ['init', '--config', join(dir, 'agent.json'), '--server', `${server.host}:${server.port}`, '--user', 'alice', '--folder', join(dir, 'folder'), '--state', join(dir, 'state'), '--device', device, '--password-stdin', ...extra],
    `${PASSWORD}\n`,
  );
}

function sync(device: string): ReturnType<typeof runFos> {
  return runFos(['sync', '--config', join(home, device, 'agent.json')]);
}

describe('the agent over TLS', () => {
  it('pins the fingerprint in the config at init, and syncs two devices over TLS', async () => {
    const fp = await fingerprint();
    for (const device of ['a', 'b']) {
      const result = await init(device, ['--fingerprint', fp]);
      expect(result.code, result.stderr).toBe(0);
    }
    const config = JSON.parse(await readFile(join(home, 'a', 'agent.json'), 'utf8')) as { agent: { tls?: unknown } };
    expect(config.agent.tls).toEqual({ fingerprint: fp });

    await writeFile(join(home, 'a', 'folder', 'over-tls.txt'), 'sent over TLS');
    const up = await sync('a');
    expect(up.code, up.stderr).toBe(0);
    const down = await sync('b');
    expect(down.code, down.stderr).toBe(0);
    expect(await readFile(join(home, 'b', 'folder', 'over-tls.txt'), 'utf8')).toBe('sent over TLS');

    const status = await runFos(['status', '--json', '--config', join(home, 'b', 'agent.json')]);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { serverReachable: boolean }).serverReachable).toBe(true);
  }, 120_000);

  it('refuses a server whose certificate is not the pinned one, and changes nothing', async () => {
    const result = await init('pinned-wrong', ['--fingerprint', await fingerprint()]);
    expect(result.code, result.stderr).toBe(0);
    const file = join(home, 'pinned-wrong', 'agent.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as { agent: Record<string, unknown> };
    const other = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/u, '')}`;
    config.agent = { ...config.agent, tls: { fingerprint: other } };
    await writeFile(file, JSON.stringify(config));
    await writeFile(join(home, 'pinned-wrong', 'folder', 'stays.txt'), 'not sent');

    const refused = await sync('pinned-wrong');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(other);
    expect(refused.stderr).toMatch(/FOS_ERR_NET_TLS/u);
  }, 60_000);

  it('refuses an unknown server at init without a terminal to ask on', async () => {
    const result = await init('unknown', ['--tls']);
    expect(result.code).toBe(EXIT.connection);
    expect(result.stderr).toMatch(/fingerprint/u);
    // Nothing was written: no config, no token.
    await expect(readFile(join(home, 'unknown', 'agent.json'), 'utf8')).rejects.toThrow(/ENOENT/u);
  }, 60_000);
});
