/**
 * Issue 4, "Done when" 4: the documented exit codes, the same for every command, with
 * one-line errors that carry the code and no stack trace.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, startCliFixture } from './cli-support.js';
import type { CliFixture } from './cli-support.js';

let fx: CliFixture;

beforeAll(async () => {
  fx = await startCliFixture();
  await writeFile(join(fx.dir, 'a.txt'), 'first\n');
  const up = await fx.fos(['upload', join(fx.dir, 'a.txt')]);
  expect(up.code, up.stderr).toBe(0);
});

afterAll(async () => {
  await fx.dispose();
});

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function expectOneLine(stderr: string, code: string): void {
  expect(stderr).toMatch(new RegExp(`^fos: [^\\n]+ \\(${code}\\)\\n$`));
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('exit codes', () => {
  it('wrong password: 3', async () => {
    const result = await fx.fos(['list'], { env: { FOS_PASSWORD: 'not-the-password' } });
    expect(result.code).toBe(3);
    expectOneLine(result.stderr, 'FOS_ERR_AUTH_FAILED');
  });

  it('missing file: 4, remote and local', async () => {
    const remote = await fx.fos(['download', 'no/such/file.txt', '--out', join(fx.dir, 'out')]);
    expect(remote.code).toBe(4);
    expectOneLine(remote.stderr, 'FOS_ERR_PATH_NOT_FOUND');
    const local = await fx.fos(['upload', join(fx.dir, 'missing.txt')]);
    expect(local.code).toBe(4);
    expectOneLine(local.stderr, 'FOS_ERR_PATH_NOT_FOUND');
  });

  it('stale revision: 5, for upload, delete and move, and nothing changes', async () => {
    const [entry] = parseJson(await fx.fos(['list', '--json'])) as { path: string; rev: number; sha256: string }[];
    expect(entry?.path).toBe('a.txt');
    const stale = String((entry?.rev ?? 0) + 100);
    await writeFile(join(fx.dir, 'a.txt'), 'second\n');
    const upload = await fx.fos(['upload', join(fx.dir, 'a.txt'), '--base-rev', stale]);
    expect(upload.code).toBe(5);
    expectOneLine(upload.stderr, 'FOS_ERR_STORE_CONFLICT');
    const exists = await fx.fos(['upload', join(fx.dir, 'a.txt'), '--base-rev', 'none']);
    expect(exists.code).toBe(5);
    const del = await fx.fos(['delete', 'a.txt', '--base-rev', stale]);
    expect(del.code).toBe(5);
    const move = await fx.fos(['move', 'a.txt', 'b.txt', '--base-rev', stale]);
    expect(move.code).toBe(5);
    const [after] = parseJson(await fx.fos(['list', '--json'])) as { path: string; rev: number; sha256: string }[];
    expect(after).toMatchObject({ path: 'a.txt', rev: entry?.rev, sha256: entry?.sha256 });
    const fresh = await fx.fos(['upload', join(fx.dir, 'a.txt'), '--base-rev', String(entry?.rev)]);
    expect(fresh.code, fresh.stderr).toBe(0);
  });

  it('server down: 6, with the address in the message', async () => {
    const port = await closedPort();
    const result = await fx.fos(['list', '--retries', '1'], { env: { FOS_SERVER: `127.0.0.1:${port}` } });
    expect(result.code).toBe(6);
    expect(result.stderr).toContain(`retrying in`);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(`fos: cannot reach 127.0.0.1:${port}: connection refused (FOS_ERR_NET_CONNECT)`);
    const quiet = await fx.fos(['upload', join(fx.dir, 'a.txt'), '--retries', '0'], { env: { FOS_SERVER: `127.0.0.1:${port}` } });
    expect(quiet.code).toBe(6);
    expectOneLine(quiet.stderr, 'FOS_ERR_NET_CONNECT');
  });

  it('bad flag or usage: 2', async () => {
    const flag = await fx.fos(['list', '--no-such-flag']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--no-such-flag'");
    const count = await fx.fos(['upload', 'a.txt', '--retries', 'many']);
    expect(count.code).toBe(2);
    const folder = await fx.fos(['upload', fx.dir]);
    expect(folder.code).toBe(2);
    expectOneLine(folder.stderr, 'FOS_ERR_PATH_NOT_FILE');
    const badPath = await fx.fos(['list', 'a/../../etc']);
    expect(badPath.code).toBe(2);
    expectOneLine(badPath.stderr, 'FOS_ERR_PATH_BAD');
  });

  it('a stack trace only with --verbose', async () => {
    const result = await fx.fos(['download', 'nothing-here', '--verbose']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^fos: .+ \(FOS_ERR_PATH_NOT_FOUND\)\n.*FosError/s);
  });
});
