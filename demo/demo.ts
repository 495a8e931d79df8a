/**
 * `npm run demo`: fos working in a minute, with nothing to set up. It starts a server on a
 * free loopback port with a temporary data folder (the embedded SQLite store), makes a
 * user, sets up two synced folders with two agents, saves a file in one and shows it
 * arriving in the other, then prints what to try next. `--ci` runs straight through and
 * exits 0 when the file arrived. Everything is removed on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FOS = join(ROOT, 'bin', 'fos.js');
const USER = 'demo';
const PASSWORD = 'demo-password-1';
const ARRIVAL_TIMEOUT_MS = 30_000;

const isCi = process.argv.includes('--ci');
const children: ChildProcess[] = [];
let workDir = '';

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Runs `fos ARGS` to completion and returns its stdout; throws with its stderr on failure. */
function fos(args: string[], input?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [FOS, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, FOS_PASSWORD: PASSWORD },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`fos ${args[0] ?? ''} failed (${code}): ${err.trim()}`)),
    );
    child.stdin.end(input ?? '');
  });
}

/** Starts a long-running `fos ARGS` and keeps it for cleanup. */
function startFos(args: string[], logFile: string): ChildProcess {
  const child = spawn(process.execPath, [FOS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(chunk.toString());
    void writeFile(logFile, lines.join(''));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** Resolves with the port from the server's `listening` log line. */
function waitForListening(server: ChildProcess): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 20 s')), 20_000);
    const lines = createInterface({ input: server.stdout! });
    lines.on('line', (line) => {
      try {
        const record = JSON.parse(line) as { msg?: unknown; port?: unknown };
        if (record.msg === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer);
          resolvePromise(record.port);
        }
      } catch {
        // Not a JSON log line: the server prints nothing else, but a stray line is harmless.
      }
    });
    server.on('exit', (code) => reject(new Error(`the server exited early (${code})`)));
  });
}

async function waitForFile(path: string, content: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      if ((await readFile(path, 'utf8')) === content) return Date.now() - started;
    } catch {
      // Not there yet.
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${path} did not arrive within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function cleanup(): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
        }),
    ),
  );
  if (workDir !== '') await rm(workDir, { recursive: true, force: true });
}

async function run(): Promise<void> {
  workDir = await mkdtemp(join(tmpdir(), 'fos-demo-'));
  const data = join(workDir, 'server-data');
  const laptop = join(workDir, 'laptop');
  const desktop = join(workDir, 'desktop');
  await Promise.all([mkdir(laptop), mkdir(desktop)]);

  say(`fos demo: everything lives in ${workDir} and is removed on exit.\n`);
  const server = startFos(['server', '--data', data, '--host', '127.0.0.1', '--port', '0', '--log-format', 'json'], join(workDir, 'server.log'));
  const port = await waitForListening(server);
  const address = `127.0.0.1:${port}`;
  say(`1. server listening on ${address} (data in ${data}, accounts in ${join(data, 'fos.db')})`);

  await fos(['user', 'add', USER, '--data', data, '--password-stdin', '--cost', '10'], `${PASSWORD}\n`);
  say(`2. user "${USER}" created (bcrypt-hashed)`);

  const devices = [
    { name: 'laptop', folder: laptop },
    { name: 'desktop', folder: desktop },
  ];
  for (const device of devices) {
    const config = join(workDir, `${device.name}.json`);
    await fos([
      'init', '--config', config, '--server', address, '--user', USER,
      '--folder', device.folder, '--state', join(workDir, `${device.name}-state`), '--device', device.name,
    ]);
    startFos(['agent', '--config', config, '--log-format', 'json'], join(workDir, `${device.name}-agent.log`));
  }
  say('3. two agents syncing: laptop/ and desktop/ through the server');

  const note = `Hello from fos, saved on the laptop at ${new Date().toISOString()}\n`;
  await writeFile(join(laptop, 'hello.txt'), note);
  say('4. saved laptop/hello.txt ...');
  const ms = await waitForFile(join(desktop, 'hello.txt'), note, ARRIVAL_TIMEOUT_MS);
  say(`5. ... and it arrived in desktop/hello.txt after ${ms} ms\n`);

  if (isCi) return;
  say('Try it yourself, in another terminal:');
  say(`  echo hi > ${join(desktop, 'from-desktop.txt')}   # appears in ${laptop}`);
  say(`  FOS_SERVER=${address} FOS_USER=${USER} FOS_PASSWORD=${PASSWORD} node ${FOS} list -l`);
  say(`  node ${FOS} status --config ${join(workDir, 'laptop.json')}`);
  say('\nPress Enter or Ctrl-C to stop and clean up.');
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.stdin.once('data', () => done());
  });
}

run()
  .then(async () => {
    await cleanup();
    say('demo finished: cleaned up.');
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    for (const name of ['server.log', 'laptop-agent.log', 'desktop-agent.log']) {
      const text = await readFile(join(workDir, name), 'utf8').catch(() => '');
      if (text !== '') process.stderr.write(`--- last lines of ${name}\n${text.trimEnd().split('\n').slice(-15).join('\n')}\n`);
    }
    await cleanup().catch(() => undefined);
    process.exit(1);
  });
