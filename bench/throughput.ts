/**
 * Loopback throughput of one large upload and download through the real server process
 * and the client library. Run after `npm run build`:
 *
 *   node dist/bench/throughput.js [--mib 1024] [--compress] [--dir DIR] [--server-cpu-prof DIR]
 *
 * `--dir DIR` puts the files and the server's data folder there (the system's temporary
 * folder by default); on a tmpfs such as /dev/shm the disk drops out of the measurement.
 * `--server-cpu-prof DIR` runs the server under `node --cpu-prof` and leaves its profile in
 * DIR (summarise it with `node dist/bench/profile-top.js DIR/*.cpuprofile`).
 * Prints MB/s (10^6 bytes per second) for the upload (with and without the client's
 * SHA-256 pass over the file before sending, which the protocol requires) and for the
 * download (which hashes while it writes).
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { downloadFile } from '../src/client/download.js';
import { FosClient } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { sha256File } from '../src/fs/hash.js';
import { hashPassword } from '../src/store/accounts.js';
import { openSqliteStore } from '../src/store/sqlite.js';

const FOS_BIN = fileURLToPath(new URL('../../bin/fos.js', import.meta.url));
const USER = 'bench';
const PASSWORD = 'throughput bench password';

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const file = await open(path, 'w');
  const block = Buffer.allocUnsafe(8 * 1024 * 1024);
  try {
    for (let written = 0; written < bytes; written += block.length) {
      randomFillSync(block);
      await file.write(block, 0, Math.min(block.length, bytes - written));
    }
  } finally {
    await file.close();
  }
}

/** CPU seconds (user + system) a process has used, from /proc on Linux; null elsewhere. */
async function cpuSecondsOf(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the file, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    // No /proc (macOS): the CPU figure is left out.
    return null;
  }
}

async function startServerProcess(
  dataDir: string,
  profileDir: string | undefined,
): Promise<{ port: number; cpuSeconds: () => Promise<number | null>; stop: () => Promise<void> }> {
  const profile = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const child = spawn(process.execPath, [...profile, FOS_BIN, 'server', '--data', dataDir, '--port', '0', '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      pending += text;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const record = JSON.parse(line) as { msg?: string; port?: number };
        if (record.msg === 'listening' && typeof record.port === 'number') resolve(record.port);
      }
    });
    void exited.then(() => reject(new Error('server exited before listening')));
  });
  return {
    port,
    cpuSeconds: () => cpuSecondsOf(child.pid),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function rate(bytes: number, ms: number): string {
  return `${((bytes / 1e6) / (ms / 1000)).toFixed(0)} MB/s (${(ms / 1000).toFixed(2)} s)`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mib: { type: 'string', default: '1024' },
      compress: { type: 'boolean', default: false },
      'server-cpu-prof': { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const bytes = Number(values.mib) * 1024 * 1024;
  const scratch = await mkdtemp(join(values.dir ?? tmpdir(), 'fos-throughput-'));
  try {
    const dataDir = join(scratch, 'data');
    const store = await openSqliteStore(dataDir);
    await store.createUser(USER, await hashPassword(PASSWORD, 4), Date.now());
    await store.close();
    const source = join(scratch, 'source.bin');
    await writeRandomFile(source, bytes);
    const server = await startServerProcess(dataDir, values['server-cpu-prof']);
    const client = await FosClient.connect({
      address: { host: '127.0.0.1', port: server.port },
      credentials: { kind: 'password', user: USER, password: PASSWORD },
    });
    try {
      const serverCpuBefore = await server.cpuSeconds();
      const clientCpuBefore = process.cpuUsage();
      let t = performance.now();
      await sha256File(source);
      const hashMs = performance.now() - t;
      t = performance.now();
      await uploadFile(client.connection, source, 'bench.bin', { compress: values.compress });
      const uploadMs = performance.now() - t;
      t = performance.now();
      await downloadFile(client.connection, 'bench.bin', join(scratch, 'back.bin'), { compress: values.compress });
      const downloadMs = performance.now() - t;
      const size = `${values.mib} MiB${values.compress ? ', gzip' : ''}`;
      process.stdout.write(`file ${size}, chunk ${client.negotiated.chunkBytes} B, window ${client.negotiated.windowBytes} B\n`);
      process.stdout.write(`client sha256 pass   ${rate(bytes, hashMs)}\n`);
      process.stdout.write(`upload (with hash)   ${rate(bytes, uploadMs)}\n`);
      process.stdout.write(`upload (transfer)    ${rate(bytes, uploadMs - hashMs)}\n`);
      process.stdout.write(`download             ${rate(bytes, downloadMs)}\n`);
      // CPU time says what the machine could do without other load: MB moved per CPU second.
      const serverCpuAfter = await server.cpuSeconds();
      const clientCpu = process.cpuUsage(clientCpuBefore);
      const clientSeconds = (clientCpu.user + clientCpu.system) / 1e6;
      if (serverCpuBefore !== null && serverCpuAfter !== null) {
        const serverSeconds = serverCpuAfter - serverCpuBefore;
        process.stdout.write(`server CPU           ${serverSeconds.toFixed(2)} s for both transfers (${((2 * bytes) / 1e6 / serverSeconds).toFixed(0)} MB per CPU second)\n`);
      }
      process.stdout.write(`client CPU           ${clientSeconds.toFixed(2)} s for hash, upload and download\n`);
      process.stdout.write(`wall clock           ${((hashMs + uploadMs + downloadMs) / 1000).toFixed(2)} s; load average ${loadavg()[0]?.toFixed(1)}\n`);
    } finally {
      await client.close();
      await server.stop();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
