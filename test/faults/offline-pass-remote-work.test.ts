/**
 * Issue 9, found by the fault proxy runs (connections cut mid-download): a pass that read
 * the change feed and then lost the connection put back only the scope it had been given.
 * The feed cursor had already moved past the changes it read, so the file it was
 * downloading was never looked at again, and the agent said "in sync" until the next full
 * rescan. The retry must still carry that work.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairWorker } from '../../src/agent/pair-worker.js';
import { systemClock } from '../../src/client/index.js';
import type { FosClient } from '../../src/client/index.js';
import { FosError } from '../../src/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { addUser, startServer } from '../support/server.js';
import type { TestServer } from '../support/server.js';
import { waitFor } from '../support/agent-process.js';
import { openDevice } from '../support/sync-device.js';
import type { SyncDevice } from '../support/sync-device.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let a: SyncDevice;
let b: SyncDevice;
let worker: PairWorker | null = null;

beforeAll(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'offline', PASSWORD);
  const common = { host: server.host, port: server.port, user: 'offline', password: PASSWORD };
  a = await openDevice({ ...common, name: 'laptop' });
  b = await openDevice({ ...common, name: 'desktop' });
});

afterAll(async () => {
  await worker?.close();
  await a?.close(true);
  await b?.close(true);
  await server?.dispose();
});

describe('an agent pass that loses the connection after reading the change feed', () => {
  it('downloads the file on its retry', async () => {
    const controller = new AbortController();
    let cut = false;
    worker = new PairWorker({
      pair: a.pair,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      debounceMs: 0,
      onPass: () => undefined,
      passOptions: () => ({
        clock: systemClock,
        signal: controller.signal,
        run: async <T>(fn: (client: FosClient) => Promise<T>): Promise<T> =>
          a.pool.run(async (client) => {
            // Once the feed was read, the next call is the download: its connection is cut,
            // as the fault proxy does after N bytes.
            if (!cut && a.pair.view.entries.has('from-b.txt')) {
              cut = true;
              throw new FosError('FOS_ERR_NET_CLOSED', 'connection cut (test)');
            }
            return fn(client);
          }, { retries: 0, signal: controller.signal }),
      }),
    });
    // The worker's first pass looks at everything; the one under test is scoped.
    worker.touchAll();
    await waitFor('the first full pass', () => (worker?.status().lastSyncAt === null ? undefined : true), 20_000, 50);
    await worker.idle();
    await writeFile(join(b.root, 'from-b.txt'), 'made on B');
    expect((await b.sync()).inSync).toBe(true);
    worker.touchRemote();
    const content = await waitFor('from-b.txt on A after the retry', async () => {
      try {
        return await readFile(join(a.root, 'from-b.txt'), 'utf8');
      } catch {
        return undefined;
      }
    }, 20_000, 50);
    expect(cut).toBe(true);
    expect(content).toBe('made on B');
  });
});
