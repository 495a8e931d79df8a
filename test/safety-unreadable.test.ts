/**
 * Issue 11, "Done when" 6: one unreadable file among 1,000. A running agent uploads the
 * other 999, `fos status` lists the one with its next retry time, and once it is readable
 * again it syncs too.
 *
 * Root reads any file whatever its mode (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so as root
 * the agent runs under `setpriv` with both capabilities taken out of its bounding set: the
 * files stay its own (root owns them), and `chmod 000` really shuts it out. As another
 * user the agent needs nothing of the kind. Where neither works the test skips, saying why.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socketPath } from '../src/agent/status-file.js';
import { queryStatus } from '../src/agent/status-socket.js';
import type { AgentStatus } from '../src/agent/status-types.js';
import { tuneAgent } from '../test-support/soak-world.js';
import { initDevice, spawnAgent, waitFor } from './support/agent-process.js';
import type { AgentDevice, AgentProcess } from './support/agent-process.js';
import { addUser, runFos, startServer } from './support/server.js';
import type { TestServer } from './support/server.js';
import { serverFiles } from './support/sync-device.js';

const run = promisify(execFile);
const USER = 'reader';
const PASSWORD = 'correct horse battery';
const FOLDERS = 10;
const FILES_PER_FOLDER = 100;
const LOCKED = 'd3/f042.txt';

/** A command prefix under which this process's files can be made unreadable, or why there is none. */
async function unprivileged(dir: string): Promise<readonly string[] | string> {
  if (process.platform !== 'linux') return `dropping capabilities needs Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return [];
  const prefix = ['setpriv', '--bounding-set=-dac_override,-dac_read_search'];
  const probe = join(dir, 'probe');
  await writeFile(probe, 'secret');
  await chmod(probe, 0o000);
  try {
    await run(prefix[0] as string, [...prefix.slice(1), 'cat', probe]);
    return 'setpriv ran, but a file with mode 000 was still readable';
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return message.includes('Permission denied') ? prefix : `setpriv cannot drop the capabilities here: ${message.split('\n')[0]}`;
  } finally {
    await rm(probe, { force: true });
  }
}

const scratch = await mkdtemp(join(tmpdir(), 'fos-unreadable-probe-'));
const prefix = await unprivileged(scratch);
await rm(scratch, { recursive: true, force: true });
const skipWhy = typeof prefix === 'string' ? prefix : null;
if (skipWhy !== null) console.warn(`unreadable-file test skipped: ${skipWhy}`);

let root: string;
let server: TestServer;
let device: AgentDevice;
let agent: AgentProcess;

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function contentOf(path: string): string {
  return `file ${path}\n`;
}

/** The server's files of the pair (remote folder `work`), by sync path. */
async function filesOnServer(): Promise<Map<string, string>> {
  return new Map(Object.entries(await serverFiles(server, USER, PASSWORD, 'work')));
}

beforeAll(async () => {
  if (typeof prefix === 'string') return;
  root = await mkdtemp(join(tmpdir(), 'fos-unreadable-'));
  server = await startServer();
  await addUser(server.dataDir, USER, PASSWORD);
  device = await initDevice(server, root, 'laptop', USER, PASSWORD, 'work');
  // A long rescan interval: what brings the file back is its own retry, not a rescan.
  await tuneAgent(device.config, { rescanIntervalSec: 300, settleMs: 100, debounceMs: 50, concurrency: 8 });
  for (let d = 0; d < FOLDERS; d++) {
    await mkdir(join(device.folder, `d${d}`), { recursive: true });
    for (let f = 0; f < FILES_PER_FOLDER; f++) {
      const path = `d${d}/f${String(f).padStart(3, '0')}.txt`;
      await writeFile(join(device.folder, path), contentOf(path));
    }
  }
  await chmod(join(device.folder, LOCKED), 0o000);
  agent = spawnAgent(device, [], { prefix });
}, 60_000);

afterAll(async () => {
  await agent?.kill();
  await server?.dispose();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe.skipIf(skipWhy !== null)(`one unreadable file among 1,000${skipWhy === null ? '' : ` (skipped: ${skipWhy})`}`, () => {
  it('syncs the other 999, lists the one in fos status with its next retry, and syncs it once it is readable', async () => {
    const others = await waitFor(
      'the 999 readable files on the server',
      async () => {
        const files = await filesOnServer();
        return files.size === FOLDERS * FILES_PER_FOLDER - 1 ? files : undefined;
      },
      120_000,
      500,
    );
    expect(others.has(LOCKED)).toBe(false);
    for (const [path, hash] of others) expect(hash, path).toBe(sha(contentOf(path)));

    const status = await waitFor('the unreadable file in the status', async () => {
      const pair = (await queryStatus(socketPath(device.state)))?.pairs[0];
      return pair?.errors.some((e) => e.path === LOCKED) === true ? pair : undefined;
    });
    const error = status.errors.find((e) => e.path === LOCKED);
    expect(status.errors).toHaveLength(1);
    expect(error).toMatchObject({ path: LOCKED, code: 'FOS_ERR_SYNC_LOCAL_IO' });
    expect(error?.message).toContain('EACCES');
    expect(error?.nextRetryAt).toBeGreaterThan(error?.lastAt ?? Number.POSITIVE_INFINITY);
    const json = JSON.parse((await runFos(['status', '--config', device.config, '--json'])).stdout) as AgentStatus;
    expect(json.pairs[0]?.errors.map((e) => e.path)).toEqual([LOCKED]);
    const human = (await runFos(['status', '--config', device.config])).stdout;
    expect(human).toMatch(new RegExp(`error: ${LOCKED}: .*; next retry \\d{4}-\\d{2}-\\d{2}T`, 'u'));

    await chmod(join(device.folder, LOCKED), 0o644);
    await waitFor(
      'the file on the server once readable',
      async () => ((await filesOnServer()).get(LOCKED) === sha(contentOf(LOCKED)) ? true : undefined),
      90_000,
      500,
    );
    await waitFor('the error to clear from the status', async () => {
      const pair = (await queryStatus(socketPath(device.state)))?.pairs[0];
      return pair?.errors.length === 0 ? true : undefined;
    });
  }, 300_000);
});
