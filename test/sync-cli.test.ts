/**
 * `fos init` and `fos sync` as a user runs them: the built binary against a real server,
 * two devices in separate folders. Exit codes: 0 in sync, 5 conflict copies made, 7 a
 * guard stopped the pass (issue 5, "Done when" 1, 3, 4).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, runFos, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { treeOf } from './support/sync-device.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let home: string;

interface CliDevice {
  readonly config: string;
  readonly folder: string;
}

beforeAll(async () => {
  server = await startServer();
  home = await mkdtemp(join(tmpdir(), 'fos-sync-cli-'));
  await addUser(server.dataDir, 'carol', PASSWORD);
});

afterAll(async () => {
  await server?.dispose();
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

async function init(name: string): Promise<CliDevice> {
  const dir = join(home, name);
  const config = join(dir, 'agent.json');
  const folder = join(dir, 'folder');
  const args = ['init', '--config', config, '--server', `${server.host}:${server.port}`, '--user', 'carol'];
  const result = await runFos([...args, '--folder', folder, '--remote', 'sync', '--state', join(dir, 'state'), '--device', name], '', {
    FOS_PASSWORD: PASSWORD,
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return { config, folder };
}

async function sync(device: CliDevice, ...flags: string[]): Promise<{ code: number | null; json: { exitCode: number; pairs: { inSync: boolean; planned: unknown[] }[] } }> {
  const result = await runFos(['sync', '--config', device.config, '--json', ...flags]);
  if (result.stdout === '') throw new Error(`fos sync printed nothing: ${result.stderr}`);
  return { code: result.code, json: JSON.parse(result.stdout) as { exitCode: number; pairs: { inSync: boolean; planned: unknown[] }[] } };
}

describe('fos init and fos sync', () => {
  let a: CliDevice;
  let b: CliDevice;

  it('writes a config and a token file readable by the owner only, never the password', async () => {
    a = await init('laptop');
    b = await init('desktop');
    const config = await readFile(a.config, 'utf8');
    expect(config).not.toContain(PASSWORD);
    const parsed = JSON.parse(config) as { agent: { tokenFile: string } };
    expect((await stat(parsed.agent.tokenFile)).mode & 0o777).toBe(0o600);
    expect((await readFile(parsed.agent.tokenFile, 'utf8')).trim()).toMatch(/\S{16,}/u);
  });

  it('syncs A to B and back with exit code 0', async () => {
    await mkdir(join(a.folder, 'docs/deep'), { recursive: true });
    await writeFile(join(a.folder, 'docs/deep/a.txt'), 'from a');
    await writeFile(join(a.folder, 'top.txt'), 'top');
    const dry = await sync(a, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.json.pairs[0]?.planned.length).toBeGreaterThan(0);
    expect(await treeOf(b.folder)).toEqual({});
    expect((await sync(a)).code).toBe(0);
    expect((await sync(b)).code).toBe(0);
    expect(await treeOf(b.folder)).toEqual(await treeOf(a.folder));
    await writeFile(join(b.folder, 'docs/from-b.txt'), 'from b');
    await rm(join(b.folder, 'top.txt'));
    expect((await sync(b)).code).toBe(0);
    expect((await sync(a)).code).toBe(0);
    expect(await treeOf(a.folder)).toEqual(await treeOf(b.folder));
    expect((await sync(a)).json.pairs[0]?.inSync).toBe(true);
  });

  // Issue 8 (W4): a pass that uploaded reads its own commits back, so the no-op pass after
  // it downloads no listing and rewrites neither the manifest nor the remote view.
  it('leaves the state files alone on a no-op pass right after a pass that uploaded', async () => {
    await writeFile(join(a.folder, 'docs/noop.txt'), 'uploaded, then nothing');
    expect((await sync(a)).code).toBe(0);
    const state = join(home, 'laptop', 'state');
    const files = (await readdir(state)).filter((name) => name.endsWith('.manifest.json') || name.endsWith('.remote.json'));
    expect(files).toHaveLength(2);
    const view = JSON.parse(await readFile(join(state, files.find((f) => f.endsWith('.remote.json')) ?? ''), 'utf8')) as {
      entries: { path: string }[];
    };
    expect(view.entries.map((e) => e.path)).toContain('docs/noop.txt');
    const before = await Promise.all(files.map(async (name) => (await stat(join(state, name))).mtimeMs));
    const again = await sync(a);
    expect(again.code).toBe(0);
    expect(again.json.pairs[0]?.planned).toEqual([]);
    expect(await Promise.all(files.map(async (name) => (await stat(join(state, name))).mtimeMs))).toEqual(before);
  });

  it('exits 5 when it made a conflict copy', async () => {
    await writeFile(join(a.folder, 'docs/deep/a.txt'), 'A edits');
    await writeFile(join(b.folder, 'docs/deep/a.txt'), 'B edits, differently');
    expect((await sync(a)).code).toBe(0);
    expect((await sync(b)).code).toBe(5);
    expect((await sync(a)).code).toBe(0);
    const tree = await treeOf(a.folder);
    expect(await treeOf(b.folder)).toEqual(tree);
    expect(Object.keys(tree).filter((p) => p.includes('(conflict from desktop'))).toHaveLength(1);
  });

  it('exits 7 when 60 % of the files would go (held), and deletes nothing anywhere', async () => {
    for (let i = 0; i < 10; i++) await writeFile(join(a.folder, `bulk${i}.txt`), `bulk ${i}`);
    await sync(a);
    await sync(b);
    const total = Object.keys(await treeOf(a.folder)).filter((p) => !p.endsWith('/')).length;
    const victims = Math.ceil(total * 0.6);
    const names = Object.keys(await treeOf(a.folder)).filter((p) => !p.endsWith('/')).slice(0, victims);
    for (const name of names) await rm(join(a.folder, name));
    const before = await treeOf(b.folder);
    const refused = await runFos(['sync', '--config', a.config]);
    expect(refused.code).toBe(7);
    // Issue 11: the deletions are held on the server; the output says how to decide.
    expect(refused.stdout).toMatch(/\d+ deletions held as batch [0-9a-z]{8}: fos deletions approve [0-9a-z]{8} \/ reject [0-9a-z]{8}/u);
    expect((await sync(b)).code).toBe(0);
    expect(await treeOf(b.folder)).toEqual(before);
    expect((await sync(a, '--force')).code).toBe(0);
  });
});
