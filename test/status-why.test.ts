/**
 * `fos status --why PATH` (issue 11): a golden test per rule, against a real server with
 * devices set up by `fos init`: the exact human output (times that depend on the clock,
 * the agent's pid and the temporary folder masked; file mtimes are fixed, so hashes,
 * sizes and mtimes are exact) and the `--json` shape. Without a running agent the command
 * must leave the folder and the state folder exactly as they were.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDevice, patchAgentConfig, spawnAgent, waitFor } from './support/agent-process.js';
import type { AgentDevice } from './support/agent-process.js';
import { addUser, runFos, startServer } from './support/server.js';
import { snapshotTree } from './support/sync-device.js';
import type { TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
/** Every file's mtime, so that the output is the same on every run. */
const MTIME = '2026-01-01T00:00:00.000Z';
const MTIME_S = Date.parse(MTIME) / 1000;
/** Each `--why` runs the command twice and scans the folder: generous on a loaded machine. */
const SLOW_MS = 180_000;
let server: TestServer;
let home: string;
let users = 0;

beforeAll(async () => {
  server = await startServer();
  home = await mkdtemp(join(tmpdir(), 'fos-why-'));
});

afterAll(async () => {
  await server?.dispose();
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A new account with a device per name, each syncing its folder with `/sync`; `agent` and `folder` patch their configs. */
async function devices(names: readonly string[], agent: Record<string, unknown> = {}, folder: Record<string, unknown> = {}): Promise<AgentDevice[]> {
  const user = `why${++users}`;
  await addUser(server.dataDir, user, PASSWORD);
  const out: AgentDevice[] = [];
  for (const name of names) {
    const device = await initDevice(server, home, `${user}-${name}`, user, PASSWORD, 'sync');
    // One transfer at a time: the server hands out revisions in plan order, the same every run.
    await patchAgentConfig(device, { concurrency: 1, ...agent }, folder);
    out.push(device);
  }
  return out;
}

/** Writes a file with the fixed mtime. */
async function put(device: AgentDevice, path: string, text: string, mtime = MTIME_S): Promise<void> {
  const abs = join(device.folder, path);
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, text);
  await utimes(abs, mtime, mtime);
}

async function sync(device: AgentDevice): Promise<void> {
  const result = await runFos(['sync', '--config', device.config]);
  if (result.code !== 0 && result.code !== 5) throw new Error(`fos sync exited ${String(result.code)}: ${result.stdout}${result.stderr}`);
}

/**
 * Runs `fos status --why PATH` (human and JSON) and checks that, with no agent running,
 * neither the folder nor the state folder changed.
 */
async function why(device: AgentDevice, path: string, options: { readonly agentRunning?: boolean } = {}): Promise<{ text: string; json: Record<string, unknown> }> {
  const before = options.agentRunning === true ? null : [await snapshotTree(device.folder), await snapshotTree(device.state)];
  const human = await runFos(['status', '--config', device.config, '--why', path]);
  expect(human.stderr).toBe('');
  expect(human.code).toBe(0);
  const machine = await runFos(['status', '--config', device.config, '--why', path, '--json']);
  expect(machine.code).toBe(0);
  if (before !== null) expect([await snapshotTree(device.folder), await snapshotTree(device.state)]).toEqual(before);
  return { text: mask(human.stdout), json: JSON.parse(machine.stdout) as Record<string, unknown> };
}

/** Masks what depends on the clock, the process and the temporary folder. */
function mask(text: string): string {
  return text
    .replaceAll(home, '<home>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/gu, (iso) => (iso === MTIME ? iso : '<time>'))
    .replace(/\d{4}-\d{2}-\d{2} \d{6}/gu, '<stamp>')
    .replace(/pid \d+/gu, 'pid <pid>');
}

/** The golden lines of a report, after the first: local, manifest, server, agent, decision, next pass. */
function lines(path: string, device: AgentDevice, rest: readonly string[]): string {
  return `${[`${path}  (${device.folder.replace(home, '<home>')} <-> /sync)`, ...rest].join('\n')}\n`;
}

const NO_AGENT = '  agent:     not running (no status yet)';

describe('fos status --why: one folder, a path per rule', { timeout: SLOW_MS }, () => {
  let a: AgentDevice;
  let b: AgentDevice;

  beforeAll(async () => {
    // The laptop waits 10 minutes for a file to settle: only fresh.txt (mtime now) is young.
    [a, b] = (await devices(['laptop', 'desktop'], { settleMs: 600_000 })) as [AgentDevice, AgentDevice];
    await put(a, 'docs/a.txt', 'hello\n');
    await put(a, 'c.txt', 'shared\n');
    await sync(a);
    await sync(b);
    await put(b, 'c.txt', 'desktop edit\n');
    await put(b, 'from-desktop.txt', 'made on the desktop\n');
    await sync(b);
    await put(a, 'c.txt', 'laptop edit!\n');
    await put(a, 'new.txt', 'new\n');
    await put(a, 'notes.swp', 'swap\n');
    await put(a, '.fosignore', 'build/\n');
    await put(a, 'build/out.o', 'object\n');
    await symlink('docs/a.txt', join(a.folder, 'link'));
    await put(a, '\u00e9.txt', 'nfc\n');
    await put(a, 'e\u0301.txt', 'nfd\n');
    await writeFile(join(a.folder, 'fresh.txt'), 'still being written\n');
  }, 180_000);

  it('inSync: local, manifest and server agree (a local path; the whole --json shape)', async () => {
    const { text, json } = await why(a, join(a.folder, 'docs/a.txt'));
    const hash = sha('hello\n');
    expect(text).toBe(
      lines('docs/a.txt', a, [
        `  local:     file, 6 bytes, mtime ${MTIME}, unchanged since the manifest (size and mtime match; not hashed)`,
        `  manifest:  file, 6 bytes, mtime ${MTIME}, sha256 ${hash}, rev 3`,
        `  server:    file, 6 bytes, mtime ${MTIME}, sha256 ${hash}, rev 3`,
        NO_AGENT,
        '  decision:  in sync: here, the manifest and the server agree (revision 3); nothing to do',
        '  next pass: nothing',
      ]),
    );
    const mtimeMs = Date.parse(MTIME);
    expect(json).toEqual({
      path: 'docs/a.txt',
      pair: { local: a.folder, remote: 'sync' },
      localPath: join(a.folder, 'docs/a.txt'),
      remotePath: 'sync/docs/a.txt',
      local: { exists: true, kind: 'file', size: 6, mtimeMs, sha256: null, hashing: 'unchanged' },
      manifest: { kind: 'file', size: 6, mtimeMs, sha256: hash, rev: 3 },
      server: {
        reachable: true,
        error: null,
        entry: { path: 'sync/docs/a.txt', name: 'a.txt', kind: 'file', size: 6, mtimeMs, mtime: MTIME, sha256: hash, rev: 3, deleted: false },
      },
      decision: { rule: 'inSync', rev: 3, message: 'in sync: here, the manifest and the server agree (revision 3); nothing to do' },
      next: [],
      agent: { running: false, pid: 0, updatedAt: 0 },
    });
  });

  it('planned: what the next pass does and the reconcile rule behind it (sync paths)', async () => {
    const up = await why(a, 'new.txt');
    expect(up.text).toBe(
      lines('new.txt', a, [
        `  local:     file, 4 bytes, mtime ${MTIME}, sha256 ${sha('new\n')} (hashed: size or mtime differ from the manifest)`,
        '  manifest:  no record',
        '  server:    absent',
        NO_AGENT,
        '  decision:  upload (localNew): new here, not on the server yet',
        '  next pass:',
        '    upload       new.txt  (localNew, 4 B)',
      ]),
    );
    const op = { kind: 'upload', path: 'new.txt', rule: 'localNew', bytes: 4 };
    expect(up.json['decision']).toEqual({ rule: 'planned', ops: [op], message: 'upload (localNew): new here, not on the server yet' });
    expect(up.json['next']).toEqual([op]);
    expect(up.json['local']).toMatchObject({ exists: true, sha256: sha('new\n'), hashing: 'hashed' });

    const down = await why(a, '/from-desktop.txt');
    expect(down.text).toBe(
      lines('from-desktop.txt', a, [
        '  local:     absent',
        '  manifest:  no record',
        `  server:    file, 20 bytes, mtime ${MTIME}, sha256 ${sha('made on the desktop\n')}, rev 4`,
        NO_AGENT,
        '  decision:  download (remoteNew): new on the server, not here yet',
        '  next pass:',
        '    download     from-desktop.txt  (remoteNew, 20 B)',
      ]),
    );
    expect(down.json['local']).toEqual({ exists: false });
  });

  it('ignored: the pattern and where it comes from', async () => {
    const swap = await why(a, 'notes.swp');
    expect(swap.text).toBe(
      lines('notes.swp', a, [
        `  local:     file, 5 bytes, mtime ${MTIME}, not hashed (the scan does not take it in)`,
        '  manifest:  no record',
        '  server:    absent',
        NO_AGENT,
        '  decision:  ignored: matches "*.swp" (a default rule); never synced either way',
        '  next pass: nothing',
      ]),
    );
    expect(swap.json['decision']).toEqual({ rule: 'ignored', pattern: '*.swp', source: 'default', message: 'ignored: matches "*.swp" (a default rule); never synced either way' });
    const built = await why(a, 'build/out.o');
    expect(built.text).toContain(`  decision:  ignored: matches "build/" (the folder's .fosignore); never synced either way\n`);
    expect(built.json['decision']).toMatchObject({ rule: 'ignored', pattern: 'build/', source: '.fosignore' });
  });

  it('unreadable: a path the scan leaves alone', async () => {
    const { text, json } = await why(a, 'link');
    expect(text).toBe(
      lines('link', a, [
        '  local:     symbolic link',
        '  manifest:  no record',
        '  server:    absent',
        NO_AGENT,
        '  decision:  left alone: symbolic link not followed; nothing at or below it syncs until that changes',
        '  next pass: nothing',
      ]),
    );
    expect(json['decision']).toMatchObject({ rule: 'unreadable', reason: 'symbolic link not followed' });
    expect(json['local']).toMatchObject({ exists: true, kind: 'symlink', sha256: null, hashing: 'none' });
  });

  it('nameCollision: two spellings of one name are both held', async () => {
    const { text, json } = await why(a, '\u00e9.txt');
    expect(text).toContain('  manifest:  no record\n  server:    absent\n');
    expect(text).toContain(`  decision:  name collision: e\u0301.txt, \u00e9.txt are one name on this folder; none of them syncs until all but one are renamed\n  next pass: nothing\n`);
    expect(json['decision']).toMatchObject({ rule: 'nameCollision', paths: ['e\u0301.txt', '\u00e9.txt'] });
    expect(json['next']).toEqual([]);
  });

  it('pending: a file still being written, and when it will have settled', async () => {
    const { text, json } = await why(a, 'fresh.txt');
    expect(text).toBe(
      lines('fresh.txt', a, [
        `  local:     file, 20 bytes, mtime <time>, sha256 ${sha('still being written\n')} (hashed: size or mtime differ from the manifest)`,
        '  manifest:  no record',
        '  server:    absent',
        NO_AGENT,
        '  decision:  pending: the file is still being written; it syncs once its size and mtime hold still (<time>)',
        '  next pass:',
        '    upload       fresh.txt  (localNew, 20 B)',
      ]),
    );
    const local = json['local'] as { mtimeMs: number };
    expect(json['decision']).toMatchObject({ rule: 'pending', reason: 'settling', settleAt: local.mtimeMs + 600_000 });
  });

  it('conflict: both sides changed; the copy the next pass makes', async () => {
    const { text, json } = await why(a, 'c.txt');
    const copy = 'c (conflict from why1-laptop <stamp>).txt';
    expect(text).toBe(
      lines('c.txt', a, [
        `  local:     file, 13 bytes, mtime ${MTIME}, sha256 ${sha('laptop edit!\n')} (hashed: size or mtime differ from the manifest)`,
        `  manifest:  file, 7 bytes, mtime ${MTIME}, sha256 ${sha('shared\n')}, rev 2`,
        `  server:    file, 13 bytes, mtime ${MTIME}, sha256 ${sha('desktop edit\n')}, rev 4`,
        NO_AGENT,
        `  decision:  conflict: changed on both sides since the last sync; both versions are kept, one under the name and the other as "${copy}", on both sides`,
        '  next pass:',
        `    conflict     c.txt -> ${copy}  (bothChanged, 26 B)`,
      ]),
    );
    expect(json['decision']).toMatchObject({ rule: 'conflict', because: 'bothChanged', copyPath: expect.stringMatching(/^c \(conflict from why1-laptop \d{4}-\d{2}-\d{2} \d{6}\)\.txt$/u) });
  });

  it('unknown: nothing anywhere', async () => {
    const { text, json } = await why(a, 'nothing.txt');
    expect(text).toBe(
      lines('nothing.txt', a, [
        '  local:     absent',
        '  manifest:  no record',
        '  server:    absent',
        NO_AGENT,
        '  decision:  unknown: nothing at this path here, in the manifest or on the server',
        '  next pass: nothing',
      ]),
    );
    expect(json['decision']).toEqual({ rule: 'unknown', message: 'unknown: nothing at this path here, in the manifest or on the server' });
  });

  it('offline: without the server the next step is not decided', async () => {
    const offline: AgentDevice = { ...a, config: join(a.config, '..', 'offline.json') };
    const config = JSON.parse(await readFile(a.config, 'utf8')) as { agent: Record<string, unknown> };
    await writeFile(offline.config, JSON.stringify({ ...config, agent: { ...config.agent, server: '127.0.0.1:1' } }));
    const { text, json } = await why(offline, 'docs/a.txt');
    const refused = 'cannot reach 127.0.0.1:1: connection refused';
    expect(text).toBe(
      lines('docs/a.txt', a, [
        `  local:     file, 6 bytes, mtime ${MTIME}, unchanged since the manifest (size and mtime match; not hashed)`,
        `  manifest:  file, 6 bytes, mtime ${MTIME}, sha256 ${sha('hello\n')}, rev 3`,
        `  server:    not reachable (${refused})`,
        NO_AGENT,
        `  decision:  server not reachable (${refused}): what the next pass does with it is decided once the server answers`,
        '  next pass: not known until the server answers',
      ]),
    );
    expect(json['server']).toEqual({ reachable: false, error: refused, entry: null });
    expect(json['decision']).toMatchObject({ rule: 'offline', error: refused });
    expect(json['next']).toBeNull();
  });

  it('refuses a path outside the folder pairs and the pair root itself', async () => {
    const root = await runFos(['status', '--config', a.config, '--why', a.folder]);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain('FOS_ERR_CLI_USAGE');
    const dots = await runFos(['status', '--config', a.config, '--why', '../x.txt']);
    expect(dots.code).toBe(2);
    expect(dots.stderr).toContain('FOS_ERR_PATH_BAD');
  });
});

describe('fos status --why: guards', () => {
  it('guard: a deletion the mass-delete guard holds back, then a missing folder', async () => {
    const [a] = (await devices(['laptop'])) as [AgentDevice];
    for (const n of [1, 2, 3, 4]) await put(a, `f${n}.txt`, `file ${n}\n`);
    await sync(a);
    for (const n of [1, 2, 3]) await rm(join(a.folder, `f${n}.txt`));
    const held = await why(a, 'f1.txt');
    const folder = a.folder.replace(home, '<home>');
    expect(held.text).toBe(
      lines('f1.txt', a, [
        '  local:     absent',
        `  manifest:  file, 7 bytes, mtime ${MTIME}, sha256 ${sha('file 1\n')}, rev 1`,
        `  server:    file, 7 bytes, mtime ${MTIME}, sha256 ${sha('file 1\n')}, rev 1`,
        NO_AGENT,
        `  decision:  stopped by the massDelete guard: the pass would delete 3 of 4 files in ${folder} (more than 50 %); nothing was deleted anywhere; check the folder, then run \`fos sync --force\` to go ahead`,
        '  next pass: nothing',
        '  held back (fos sync --force would run):',
        '    deleteRemote f1.txt  (localDeleted)',
      ]),
    );
    expect(held.json['decision']).toMatchObject({ rule: 'guard', guard: 'massDelete', held: [{ kind: 'deleteRemote', path: 'f1.txt', rule: 'localDeleted', entryKind: 'file' }] });

    // A pass records them on the server as a held batch: from then on the batch decides.
    const pass = await runFos(['sync', '--config', a.config]);
    expect(pass.code, pass.stderr).toBe(7);
    const batch = /batch ([0-9a-z]{8})/u.exec(pass.stdout)?.[1];
    if (batch === undefined) throw new Error(`no batch named in: ${pass.stdout}`);
    const waiting = await why(a, 'f1.txt');
    expect(waiting.text).toContain(
      `  decision:  deletion held in batch ${batch}: deleted here, kept on the server until a person decides; \`fos deletions approve ${batch}\` deletes it, \`fos deletions reject ${batch}\` brings it back\n`,
    );
    expect(waiting.json['decision']).toMatchObject({ rule: 'heldDeletion', batchId: batch, side: 'remote' });

    await rename(a.folder, `${a.folder}-away`);
    const missing = await why(a, 'f4.txt');
    expect(missing.text).toContain(`  local:     absent\n`);
    expect(missing.text).toContain(`  decision:  stopped by the rootMissing guard: folder missing: ${folder} does not exist; nothing was synced or deleted\n  next pass: nothing\n`);
    expect(missing.json['decision']).toMatchObject({ rule: 'guard', guard: 'rootMissing', held: [] });
  }, 180_000);
});

describe('fos status --why: a case-insensitive folder with a conflict copy limit', { timeout: SLOW_MS }, () => {
  let a: AgentDevice;

  beforeAll(async () => {
    const [laptop, desktop] = (await devices(['laptop', 'desktop'])) as [AgentDevice, AgentDevice];
    a = laptop;
    await patchAgentConfig(a, { concurrency: 1, maxConflictCopies: 1 }, { caseInsensitive: true });
    await put(a, 'p.txt', 'original\n');
    await put(a, 'p (conflict from desktop 2026-01-01 000000).txt', 'an older conflict\n');
    await sync(a);
    await sync(desktop);
    await put(desktop, 'p.txt', 'desktop edit\n');
    await put(desktop, 'Readme.txt', 'desktop readme\n');
    await sync(desktop);
    await put(a, 'p.txt', 'laptop edit!\n');
    await put(a, 'README.txt', 'laptop readme\n');
  }, 180_000);

  it('conflictCap: a conflict held because the copies reached the limit', async () => {
    const { text, json } = await why(a, 'p.txt');
    expect(text).toBe(
      lines('p.txt', a, [
        `  local:     file, 13 bytes, mtime ${MTIME}, sha256 ${sha('laptop edit!\n')} (hashed: size or mtime differ from the manifest)`,
        `  manifest:  file, 9 bytes, mtime ${MTIME}, sha256 ${sha('original\n')}, rev 1`,
        `  server:    file, 13 bytes, mtime ${MTIME}, sha256 ${sha('desktop edit\n')}, rev 2`,
        NO_AGENT,
        '  decision:  conflict held: 1 conflict copy exists (maxConflictCopies 1); both versions stay where they are until copies are cleaned up',
        '  next pass: nothing',
      ]),
    );
    expect(json['decision']).toMatchObject({ rule: 'conflictCap', copies: 1, max: 1 });
  });

  it('caseCollision: names that differ only by case', async () => {
    const { text, json } = await why(a, 'README.txt');
    expect(text).toBe(
      lines('README.txt', a, [
        `  local:     file, 14 bytes, mtime ${MTIME}, sha256 ${sha('laptop readme\n')} (hashed: size or mtime differ from the manifest)`,
        '  manifest:  no record',
        '  server:    absent',
        NO_AGENT,
        '  decision:  case collision: README.txt, Readme.txt differ only by case, which this folder cannot hold apart; none of them syncs until one is renamed',
        '  next pass: nothing',
      ]),
    );
    expect(json['decision']).toMatchObject({ rule: 'caseCollision', paths: ['README.txt', 'Readme.txt'] });
  });
});

describe('fos status --why: errors from the agent', () => {
  it('error: attempts and next retry, from a running agent and from its status file once it stopped', async () => {
    const [a] = (await devices(['laptop'])) as [AgentDevice];
    await put(a, 'ok.txt', 'fine\n');
    // The server refuses backslashes in names: the upload fails for good.
    await put(a, 'bad\\name.txt', 'refused\n');
    const refused = 'bad path "sync/bad\\\\name.txt": backslashes are not allowed';
    const expected = (agent: string): string =>
      lines('bad\\name.txt', a, [
        `  local:     file, 8 bytes, mtime ${MTIME}, sha256 ${sha('refused\n')} (hashed: size or mtime differ from the manifest)`,
        '  manifest:  no record',
        `  server:    refused: ${refused}`,
        `  agent:     ${agent}`,
        `  decision:  error: upload failed <n> times: ${refused} (FOS_ERR_PATH_BAD); next retry <time>`,
        '  next pass:',
        '    upload       bad\\name.txt  (localNew, 8 B)',
      ]);
    const attempts = (text: string): string => text.replace(/failed \d+ times?/u, 'failed <n> times');
    const agent = spawnAgent(a);
    try {
      await waitFor(
        'the error in the agent status',
        async () => ((await runFos(['status', '--config', a.config, '--json'])).stdout.includes('FOS_ERR_PATH_BAD') ? true : undefined),
        60_000,
        200,
      );
      const running = await why(a, 'bad\\name.txt', { agentRunning: true });
      expect(attempts(running.text)).toBe(expected('running (pid <pid>)'));
      expect(running.json['decision']).toMatchObject({ rule: 'error', op: 'upload', code: 'FOS_ERR_PATH_BAD', attempts: expect.any(Number), nextRetryAt: expect.any(Number) });
      expect(running.json['agent']).toMatchObject({ running: true, pid: agent.child.pid });
      // Asking did not disturb the agent: it still answers.
      expect((await runFos(['status', '--config', a.config])).stdout).toContain(`running (pid ${String(agent.child.pid)})`);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
    const stopped = await why(a, 'bad\\name.txt');
    expect(attempts(stopped.text)).toBe(expected('not running (last status <time>)'));
    expect(stopped.json['agent']).toMatchObject({ running: false, pid: 0 });
  }, 180_000);
});
