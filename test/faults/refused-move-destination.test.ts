/**
 * Issue 9, found by the fault proxy runs (a stall while both devices edit): a local rename
 * became a MOVE on the server; when the server refused it (the source had changed there
 * meanwhile), the skip named only the source, so the next round and the agent's retry
 * looked at the source alone and the renamed file never reached the server until the
 * next full rescan.
 */
import { readFile, rename, utimes, writeFile } from 'node:fs/promises';
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
  await addUser(server.dataDir, 'mover', PASSWORD);
  const common = { host: server.host, port: server.port, user: 'mover', password: PASSWORD };
  a = await openDevice({ ...common, name: 'laptop' });
  b = await openDevice({ ...common, name: 'desktop' });
});

afterAll(async () => {
  await a?.close(true);
  await b?.close(true);
  await server?.dispose();
});

describe('a rename the server refuses as a MOVE', () => {
  it('still carries the renamed file to the server within the pass', async () => {
    await writeFile(join(a.root, 'old.txt'), 'the original');
    await utimes(join(a.root, 'old.txt'), 1_700_000_000, 1_700_000_000);
    expect((await a.sync()).inSync).toBe(true);
    expect((await b.sync()).inSync).toBe(true);

    // A renames old.txt; just before A's MOVE reaches the server, B's edit of old.txt lands.
    await rename(join(a.root, 'old.txt'), join(a.root, 'new.txt'));
    await writeFile(join(b.root, 'old.txt'), 'edited on B');
    let calls = 0;
    const controller = new AbortController();
    const report = await runPass(a.pair, {
      clock: systemClock,
      signal: controller.signal,
      run: async <T>(fn: (client: FosClient) => Promise<T>): Promise<T> => {
        calls += 1;
        // Call 1 reads the change feed; call 2 is the MOVE.
        if (calls === 2) await b.sync();
        return a.pool.run(fn, { retries: 2, baseMs: 50, signal: controller.signal });
      },
    });
    expect(calls).toBeGreaterThan(2);
    expect((await b.sync()).execution.failed).toEqual([]);
    const onB = await readFile(join(b.root, 'new.txt'), 'utf8').catch(() => null);
    expect({ onB, pending: report.execution.skipped.map((s) => s.path) }).toEqual({ onB: 'the original', pending: [] });
    expect(await readFile(join(b.root, 'old.txt'), 'utf8')).toBe('edited on B');
  });
});
