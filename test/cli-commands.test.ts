/**
 * Issue 4, "Done when" 1 and 5: every client command end to end through the built binary,
 * `--json` parsed and its documented fields checked; login, a command on the stored token,
 * logout, and the token never in the server's log.
 */
import { createHash } from 'node:crypto';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { PASSWORD, USER, parseJson, startCliFixture } from './cli-support.js';
import type { CliFixture } from './cli-support.js';

const COMMANDS = ['login', 'logout', 'list', 'upload', 'download', 'preview', 'delete', 'move', 'shell', 'deletions'] as const;
const CONTENT = 'hello fos world\nsecond line\n';
const MTIME_MS = Date.UTC(2024, 1, 29, 12, 30, 15, 250);

let fx: CliFixture;

beforeAll(async () => {
  fx = await startCliFixture();
});

afterAll(async () => {
  await fx.dispose();
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Runs the program in process (STYLE.md §6) and returns what it printed on stdout. */
async function helpOf(args: readonly string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stdout += chunk.toString();
      callback();
    },
  });
  const code = await main(['node', 'fos', ...args], { stdout: sink, stderr: sink, stdin: Readable.from([]), env: {} });
  return { code, stdout };
}

describe('help', () => {
  it('shows an example for every client command in fos --help and in each command help', async () => {
    const top = await helpOf(['--help']);
    expect(top.code).toBe(0);
    const examples = top.stdout.slice(top.stdout.indexOf('Examples:'));
    for (const name of COMMANDS) {
      expect(examples).toContain(`$ fos ${name}`);
      const own = await helpOf([name, '--help']);
      expect(own.code).toBe(0);
      expect(own.stdout).toMatch(/Examples:\n\s+\$ fos /);
    }
  });
});

describe('commands with --json', () => {
  it('upload, list, preview, download, move and delete a file', async () => {
    const local = join(fx.dir, 'notes.txt');
    await writeFile(local, CONTENT);
    await utimes(local, MTIME_MS / 1000, MTIME_MS / 1000);

    const up = await fx.fos(['upload', local, '--to', 'docs', '--json']);
    expect(up.code, up.stderr).toBe(0);
    const uploaded = parseJson(up) as Record<string, unknown>[];
    expect(uploaded).toHaveLength(1);
    expect(uploaded[0]).toMatchObject({ local, path: 'docs/notes.txt', kind: 'file', size: CONTENT.length, mtimeMs: MTIME_MS, sha256: sha256(CONTENT) });
    expect(typeof uploaded[0]?.['rev']).toBe('number');

    const list = await fx.fos(['list', 'docs', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const entries = parseJson(list) as Record<string, unknown>[];
    expect(entries).toEqual([
      {
        path: 'docs/notes.txt',
        name: 'notes.txt',
        kind: 'file',
        size: CONTENT.length,
        mtimeMs: MTIME_MS,
        mtime: new Date(MTIME_MS).toISOString(),
        sha256: sha256(CONTENT),
        rev: uploaded[0]?.['rev'],
        deleted: false,
      },
    ]);
    const long = await fx.fos(['list', '-l', 'docs']);
    expect(long.stdout).toMatch(new RegExp(`^- ${CONTENT.length}  2024-02-29 12:30  r${String(uploaded[0]?.['rev'])}  notes.txt\\n$`));
    const root = await fx.fos(['list', '-R']);
    expect(root.stdout.split('\n')).toEqual(expect.arrayContaining(['docs/', 'docs/notes.txt']));

    const raw = await fx.fos(['preview', 'docs/notes.txt', '--bytes', '5']);
    expect(raw.code).toBe(0);
    expect(raw.stdout).toBe('hello');
    const preview = parseJson(await fx.fos(['preview', '/docs/notes.txt', '--bytes', '9', '--json'])) as Record<string, unknown>;
    expect(preview).toMatchObject({ path: 'docs/notes.txt', size: CONTENT.length, bytes: 9, truncated: true });
    expect(Buffer.from(String(preview['data']), 'base64').toString()).toBe(CONTENT.slice(0, 9));

    const out = join(fx.dir, 'out');
    const down = await fx.fos(['download', 'docs/notes.txt', '--out', out, '--json']);
    expect(down.code, down.stderr).toBe(0);
    expect(parseJson(down)).toEqual([
      { path: 'docs/notes.txt', local: join(out, 'notes.txt'), kind: 'file', size: CONTENT.length, mtimeMs: MTIME_MS, sha256: sha256(CONTENT), rev: uploaded[0]?.['rev'] },
    ]);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe(CONTENT);
    expect(Math.round((await stat(join(out, 'notes.txt'))).mtimeMs)).toBe(MTIME_MS);

    const moved = await fx.fos(['move', 'docs/notes.txt', 'archive/', '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    const movedEntries = parseJson(moved) as Record<string, unknown>[];
    expect(movedEntries.map((e) => e['path'])).toContain('archive/notes.txt');
    expect(movedEntries.find((e) => e['path'] === 'archive/notes.txt')).toMatchObject({ kind: 'file', sha256: sha256(CONTENT), deleted: false });

    const deleted = await fx.fos(['delete', 'archive/notes.txt', '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(parseJson(deleted)).toEqual([expect.objectContaining({ path: 'archive/notes.txt', deleted: true })]);
    const after = parseJson(await fx.fos(['list', 'archive', '--json']));
    expect(after).toEqual([]);
    const missing = await fx.fos(['preview', 'archive/notes.txt']);
    expect(missing.code).toBe(4);
  });
});

describe('login and logout', () => {
  it('stores a device token, works without a password, and logout makes the next command fail with 3', async () => {
    const noPassword = { FOS_PASSWORD: '' };
    const before = await fx.fos(['list'], { env: noPassword });
    expect(before.code).toBe(3);
    expect(before.stderr).toMatch(/^fos: not logged in.*\(FOS_ERR_AUTH_NO_CREDENTIALS\)\n$/);

    const login = await fx.fos(['login', '--password-stdin', '--device', 'test-laptop', '--json'], { input: `${PASSWORD}\n`, env: noPassword });
    expect(login.code, login.stderr).toBe(0);
    expect(parseJson(login)).toMatchObject({ server: fx.env['FOS_SERVER'], user: USER, device: 'test-laptop', config: fx.env['FOS_CONFIG'] });

    const configPath = fx.env['FOS_CONFIG'] as string;
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    expect(stored).toMatchObject({ server: fx.env['FOS_SERVER'], user: USER, device: 'test-laptop' });
    const token = stored['token'];
    expect(typeof token).toBe('string');
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
    expect(login.stdout).not.toContain(String(token));

    const withToken = await fx.fos(['list', '--json'], { env: { FOS_PASSWORD: '', FOS_USER: '' } });
    expect(withToken.code, withToken.stderr).toBe(0);
    expect(Array.isArray(parseJson(withToken))).toBe(true);

    const logout = await fx.fos(['logout', '--json'], { env: noPassword });
    expect(logout.code, logout.stderr).toBe(0);
    expect(parseJson(logout)).toMatchObject({ revoked: true, forgotten: true });
    expect(JSON.parse(await readFile(configPath, 'utf8'))).not.toHaveProperty('token');

    const afterLogout = await fx.fos(['list'], { env: noPassword });
    expect(afterLogout.code).toBe(3);
    // The revoked token itself is refused too, not only forgotten.
    await writeFile(configPath, JSON.stringify({ ...stored }));
    const revoked = await fx.fos(['list'], { env: noPassword });
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/stored device token was refused.*\(FOS_ERR_AUTH_FAILED\)/);

    const logs = fx.server.logs();
    expect(logs).toContain('device token issued');
    expect(logs).not.toContain(String(token));
    expect(logs).not.toContain(PASSWORD);
  });
});
