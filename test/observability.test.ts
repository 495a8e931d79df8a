/**
 * Issue 6, "Done when" 4: the Prometheus endpoint's counters move during transfers; ECS
 * log lines carry the fields Filebeat and Kibana expect; no password or token is logged.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FosClient } from '../src/client/index.js';
import { FOS_BIN, addUser, startServer, type TestServer } from './support/server.js';

const PASSWORD = 'observability-secret-42';

/** The value of one sample line (`name{labels} value`) in a Prometheus text page. */
function sample(page: string, line: string): number {
  const found = page.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('metrics endpoint', () => {
  let server: TestServer;
  let metricsUrl: string;
  let dir: string;

  beforeAll(async () => {
    server = await startServer({ args: ['--metrics', '127.0.0.1:0'] });
    const record = server.logRecords().find((r) => r['msg'] === 'metrics listening');
    expect(record).toBeDefined();
    metricsUrl = `http://127.0.0.1:${String(record?.['port'])}/metrics`;
    await addUser(server.dataDir, 'alice', PASSWORD);
    dir = await mkdtemp(join(tmpdir(), 'fos-metrics-'));
  });

  afterAll(async () => {
    await server.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts connections, bytes and operations as transfers run', async () => {
    const scrape = async (): Promise<string> => (await fetch(metricsUrl)).text();
    const before = await scrape();
    const file = join(dir, 'payload.bin');
    await writeFile(file, randomBytes(8 * 1024 * 1024));
    const client = await FosClient.connect({
      address: { host: server.host, port: server.port },
      credentials: { kind: 'password', user: 'alice', password: PASSWORD },
    });
    try {
      const during = await scrape();
      expect(sample(during, 'fos_connections')).toBeGreaterThanOrEqual(1);
      await client.upload(file, 'payload.bin');
      await client.download('payload.bin', join(dir, 'back.bin'));
    } finally {
      await client.close();
    }
    const after = await scrape();
    expect(sample(after, 'fos_bytes_in_total') - sample(before, 'fos_bytes_in_total')).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(sample(after, 'fos_bytes_out_total') - sample(before, 'fos_bytes_out_total')).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(sample(after, 'fos_connections_total')).toBeGreaterThan(sample(before, 'fos_connections_total'));
    expect(after).toMatch(/fos_operations_total\{[^}]*op="upload"[^}]*\} [1-9]/);
    expect(after).toMatch(/fos_operation_seconds_count\{[^}]*op="download"[^}]*\} [1-9]/);
  });
});

describe('ECS logs and secrets', () => {
  it('writes ECS fields and never logs a password or a token', async () => {
    const data = await mkdtemp(join(tmpdir(), 'fos-ecs-'));
    await addUser(data, 'bob', PASSWORD);
    const child = spawn(process.execPath, [FOS_BIN, 'server', '--data', data, '--host', '127.0.0.1', '--port', '0', '--log-format', 'ecs'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${lines.join('\n')}${stderr}`)), 20_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          lines.push(line);
          const record = JSON.parse(line) as Record<string, unknown>;
          if (record['message'] === 'listening') {
            clearTimeout(timer);
            resolve(Number(record['port']));
          }
        });
      });
      const address = { host: '127.0.0.1', port };
      await expect(
        FosClient.connect({ address, credentials: { kind: 'password', user: 'bob', password: `${PASSWORD}-wrong` } }),
      ).rejects.toMatchObject({ code: 'FOS_ERR_AUTH_FAILED' });
      const client = await FosClient.connect({ address, credentials: { kind: 'password', user: 'bob', password: PASSWORD } });
      const { token } = await client.issueToken('laptop');
      await client.close();
      const byToken = await FosClient.connect({ address, credentials: { kind: 'token', token } });
      await byToken.list('');
      await byToken.close();

      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      const all = `${lines.join('\n')}\n${stderr}`;
      for (const line of lines) {
        const record = JSON.parse(line) as Record<string, unknown>;
        expect(record).toHaveProperty('@timestamp');
        expect(record).toHaveProperty(['log.level']);
        expect(record).toHaveProperty('message');
        expect(record).toHaveProperty(['ecs.version']);
      }
      expect(lines.length).toBeGreaterThan(3);
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain(token);
    } finally {
      child.kill('SIGKILL');
      await rm(data, { recursive: true, force: true });
    }
  });
});
