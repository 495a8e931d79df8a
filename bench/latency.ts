/**
 * Save-to-appear latency of two `fos agent` processes: a server on loopback, devices A and
 * B configured with `fos init`, 100 files saved on A one after another; each delay is the
 * time from the write on A until B holds the same content. Prints p50, p90, p99 and max.
 *
 *   npm run build && node dist/bench/latency.js [--changes 100] [--files 0]
 *
 * `--files N` first puts N files in the folder (and waits for B to have them), to show the
 * delay does not grow with the folder's size.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const FOS_BIN = fileURLToPath(new URL('../../bin/fos.js', import.meta.url));
const PASSWORD = 'latency bench password';
const ENV = { ...process.env, FOS_BCRYPT_COST: '4', FOS_PASSWORD: PASSWORD };

function run(args: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FOS_BIN, ...args], { env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(input);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`fos ${args[0] ?? ''} exited ${String(code)}: ${out}`))));
  });
}

function spawnLogged(args: readonly string[], waitFor: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [FOS_BIN, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${waitFor}" from fos ${args[0] ?? ''}: ${out}`)), 60_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes(waitFor)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`fos ${args[0] ?? ''} exited ${String(code)}: ${out}`)));
  });
}

async function waitForContent(path: string, content: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await readFile(path, 'utf8')) === content) return;
    } catch {
      // Not there yet.
    }
    if (Date.now() > deadline) throw new Error(`${path} did not arrive within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { changes: { type: 'string', default: '100' }, files: { type: 'string', default: '0' } } });
  const changes = Number(values.changes);
  const files = Number(values.files);
  const home = await mkdtemp(join(tmpdir(), 'fos-latency-'));
  const children: ChildProcess[] = [];
  try {
    const data = join(home, 'server');
    await run(['user', 'add', 'bench', '--data', data, '--password-stdin', '--cost', '4'], `${PASSWORD}\n`);
    const server = await spawnLogged(['server', '--data', data, '--host', '127.0.0.1', '--port', '0'], '"listening"');
    children.push(server.child);
    const port = /"port":(\d+)/u.exec(server.output())?.[1];
    if (port === undefined) throw new Error('no port in the server log');
    const devices = ['a', 'b'].map((name) => ({ name, config: join(home, name, 'agent.json'), folder: join(home, name, 'folder') }));
    for (const d of devices) {
      await run(['init', '--config', d.config, '--server', `127.0.0.1:${port}`, '--user', 'bench', '--folder', d.folder, '--state', join(home, d.name, 'state'), '--device', d.name]);
    }
    const [a, b] = devices as [(typeof devices)[number], (typeof devices)[number]];
    if (files > 0) {
      for (let i = 0; i < files; i++) {
        const dir = join(a.folder, `bulk/${Math.floor(i / 1000)}`);
        if (i % 1000 === 0) await mkdir(dir, { recursive: true });
        await writeFile(join(dir, `f${i}.txt`), `bulk ${i}`);
      }
    }
    for (const d of devices) children.push((await spawnLogged(['agent', '--config', d.config], 'agent started')).child);
    if (files > 0) await waitForContent(join(b.folder, `bulk/${Math.floor((files - 1) / 1000)}/f${files - 1}.txt`), `bulk ${files - 1}`, 30 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const delays: number[] = [];
    for (let i = 0; i < changes; i++) {
      const content = `change ${i} ${Date.now()}`;
      const name = `doc-${i % 10}.txt`;
      const started = performance.now();
      await writeFile(join(a.folder, name), content);
      await waitForContent(join(b.folder, name), content, 30_000);
      delays.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sorted = [...delays].sort((x, y) => x - y);
    const fmt = (ms: number): string => `${ms.toFixed(0)} ms`;
    process.stdout.write(
      `${changes} changes, ${files} other files: p50 ${fmt(percentile(sorted, 50))}, p90 ${fmt(percentile(sorted, 90))}, ` +
        `p99 ${fmt(percentile(sorted, 99))}, max ${fmt(sorted[sorted.length - 1] ?? NaN)}\n`,
    );
  } finally {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
