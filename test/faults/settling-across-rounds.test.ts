/**
 * Issue 9, found by the fault proxy runs: a new file still settling in a pass's first
 * round was forgotten when a later round ran (a revision refusal on another path narrows
 * the scope of round two). The report kept only the last round's skips, so the agent never
 * looked at the settling file again and said "in sync" until the next full rescan.
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/client/index.js';
import type { FosClient } from '../../src/client/index.js';
import { runPass } from '../../src/sync/pass.js';
import { addUser, startServer } from '../support/server.js';
import type { TestServer } from '../support/server.js';
import { openDevice } from '../support/sync-device.js';
import type { SyncDevice } from '../support/sync-device.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let a: SyncDevice;
let b: SyncDevice;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'settle', PASSWORD);
  const common = { host: server.host, port: server.port, user: 'settle', password: PASSWORD };
  a = await openDevice({ ...common, name: 'laptop', settleMs: 60_000 });
  b = await openDevice({ ...common, name: 'desktop' });
});

afterAll(async () => {
  await a?.close(true);
  await b?.close(true);
  await server?.dispose();
});

describe('a pass with more than one round', () => {
  it('still reports a file that was settling in the first round, with its retry time', async () => {
    await mkdir(a.root, { recursive: true });
    await writeFile(join(a.root, 'shared.txt'), 'first');
    // An old mtime, so that shared.txt is settled at once.
    await utimes(join(a.root, 'shared.txt'), 1_700_000_000, 1_700_000_000);
    expect((await a.sync()).inSync).toBe(true);
    expect((await b.sync()).inSync).toBe(true);

    // A edits shared.txt (settled) and writes fresh.txt (just written: settling). While A
    // uploads shared.txt, B's edit lands first, so the server refuses A's upload and the
    // pass takes a second round over shared.txt alone.
    await writeFile(join(a.root, 'shared.txt'), 'edited on A');
    await utimes(join(a.root, 'shared.txt'), 1_700_000_100, 1_700_000_100);
    await writeFile(join(a.root, 'fresh.txt'), 'still being written');
    await writeFile(join(b.root, 'shared.txt'), 'edited on B');
    let calls = 0;
    let raced = false;
    const controller = new AbortController();
    const report = await runPass(a.pair, {
      clock: systemClock,
      signal: controller.signal,
      run: async <T>(fn: (client: FosClient) => Promise<T>): Promise<T> => {
        calls += 1;
        // Call 1 reads the change feed; call 2 is the upload of shared.txt.
        if (calls === 2) {
          raced = true;
          await b.sync();
        }
        return a.pool.run(fn, { retries: 2, baseMs: 50, signal: controller.signal });
      },
    });
    expect(raced).toBe(true);
    expect(report.execution.conflicts.length + report.execution.skipped.filter((s) => s.path === 'shared.txt').length).toBeGreaterThan(0);
    expect(report.execution.skipped).toContainEqual(expect.objectContaining({ path: 'fresh.txt', reason: 'settling' }));
    expect(report.retryAt).not.toBeNull();
    expect(report.inSync).toBe(false);
  });
});
