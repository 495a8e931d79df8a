/**
 * TLS from the command line against a real `fos server --tls`: `fos login` pins the
 * fingerprint given with --fingerprint, later commands use TLS and the pin from the stored
 * login, an unknown server is refused without a terminal, and a changed certificate stops
 * every command with both fingerprints shown.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askOnTerminal } from '../src/cli/tls-trust.js';
import { EXIT } from '../src/errors.js';
import { addUser, printFingerprint, runFos, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery staple';
let dataDir = '';
let home = '';
let server: TestServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fos-cli-tls-data-'));
  home = await mkdtemp(join(tmpdir(), 'fos-cli-tls-home-'));
  await addUser(dataDir, 'alice', PASSWORD);
  server = await startServer({ dataDir, args: ['--tls', '--auth-timeout', '5'] });
});

afterAll(async () => {
  // undefined when beforeAll failed before the server started; the folders go regardless.
  if ((server as TestServer | undefined) !== undefined) await server.dispose();
  await rm(dataDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

function fingerprint(): Promise<string> {
  return printFingerprint(dataDir);
}

function env(): Record<string, string> {
  return { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), FOS_SERVER: '', FOS_USER: '', FOS_PASSWORD: '' };
}

function login(config: string, extra: readonly string[]): ReturnType<typeof runFos> {
  return runFos(
    ['login', '--server', `${server.host}:${server.port}`, '--user', 'alice', '--password-stdin', '--config', config, ...extra],
    `${PASSWORD}\n`,
    env(),
  );
}

describe('fos login over TLS', () => {
  it('pins --fingerprint, stores TLS in the login, and later commands use both', async () => {
    const fp = await fingerprint();
    const config = join(home, 'pinned', 'client.json');
    const result = await login(config, ['--fingerprint', fp]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(fp);
    const knownHosts = await readFile(join(home, 'pinned', 'known_hosts'), 'utf8');
    expect(knownHosts).toContain(`${server.host}:${server.port} ${fp}`);
    expect((await stat(join(home, 'pinned', 'known_hosts'))).mode & 0o777).toBe(0o600);
    const stored: unknown = JSON.parse(await readFile(config, 'utf8'));
    expect(stored).toMatchObject({ tls: true });

    const list = await runFos(['list', '--config', config, '--json'], '', env());
    expect(list.code, list.stderr).toBe(0);
  });

  it('refuses an unknown server when nobody can be asked, and a wrong --fingerprint', async () => {
    const fp = await fingerprint();
    const unknown = await login(join(home, 'unknown', 'client.json'), ['--tls']);
    expect(unknown.code).toBe(EXIT.connection);
    expect(unknown.stderr).toContain(fp);
    expect(unknown.stderr).toContain('FOS_ERR_NET_TLS');

    const wrong = await login(join(home, 'wrong', 'client.json'), ['--fingerprint', `SHA256:${'A'.repeat(43)}`]);
    expect(wrong.code).toBe(EXIT.connection);
    expect(wrong.stderr).toContain(fp);
  });

  it('stops every command after the certificate changed, showing both fingerprints', async () => {
    const before = await fingerprint();
    const config = join(home, 'swap', 'client.json');
    expect((await login(config, ['--fingerprint', before])).code).toBe(0);

    await server.kill();
    await rm(join(dataDir, 'tls'), { recursive: true, force: true });
    await server.restart();
    const after = await fingerprint();

    const list = await runFos(['list', '--config', config], '', env());
    expect(list.code).toBe(EXIT.connection);
    expect(list.stderr).toContain(before);
    expect(list.stderr).toContain(after);
    expect(list.stderr).toContain('--fingerprint');

    // Once the administrator confirms the new fingerprint, pinning it explicitly works again.
    const relogin = await login(config, ['--fingerprint', after]);
    expect(relogin.code, relogin.stderr).toBe(0);
    expect((await runFos(['list', '--config', config], '', env())).code).toBe(0);
  });
});

describe('the first-use prompt', () => {
  it('shows both notations of the fingerprint and trusts only a yes', async () => {
    const fp = await fingerprint();
    const ask = async (answer: string | null): Promise<{ trusted: boolean; shown: string }> => {
      const stdin = new PassThrough();
      const stderr = new PassThrough();
      let shown = '';
      stderr.on('data', (chunk: Buffer) => {
        shown += chunk.toString('utf8');
      });
      const io = { stdin, stdout: new PassThrough(), stderr, env: {} };
      const trusted = askOnTerminal(io, '/known_hosts')(fp, '127.0.0.1:1');
      if (answer === null) stdin.end();
      else stdin.write(answer);
      return { trusted: await trusted, shown };
    };
    const yes = await ask('yes\n');
    expect(yes.trusted).toBe(true);
    expect(yes.shown).toContain(fp);
    expect(yes.shown).toMatch(/([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(yes.shown).toContain('fos server --print-fingerprint');
    expect((await ask('y\n')).trusted).toBe(true);
    expect((await ask('n\n')).trusted).toBe(false);
    expect((await ask('\n')).trusted).toBe(false);
    expect((await ask(null)).trusted).toBe(false);
  });
});
