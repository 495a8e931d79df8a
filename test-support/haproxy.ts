/**
 * haproxy (Debian's) in front of several `fos server` nodes on loopback, for the cluster
 * test and the cluster bench (issue 10): its own config in a temporary folder, one TCP
 * frontend per entry, health checks on the seed's greeting so a killed node leaves the
 * rotation within about a second.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { delay, waitUntil } from './soak-procs.js';

/** A frontend: its name, and the node ports it balances over, in order of preference. */
export interface Frontend {
  readonly name: string;
  readonly nodes: readonly number[];
  /**
   * `leastconn` spreads connections over every node; `prefer-first` sends everything to
   * the first node and uses the others only while it is down (haproxy `backup` servers).
   */
  readonly balance: 'leastconn' | 'prefer-first';
}

/** A running haproxy. `stop()` is idempotent. */
export interface Haproxy {
  /** The port of each frontend, by name. */
  readonly ports: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/** A free loopback port (released before haproxy binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The config: TCP mode, checks every 300 ms on the greeting, long client timeouts for WATCH. */
function config(frontends: readonly Frontend[], ports: ReadonlyMap<string, number>): string {
  const lines = [
    'global',
    '    maxconn 4096',
    'defaults',
    '    mode tcp',
    '    timeout connect 2s',
    '    timeout client 1h',
    '    timeout server 1h',
    '    option tcpka',
  ];
  for (const frontend of frontends) {
    lines.push(`frontend ${frontend.name}`, `    bind 127.0.0.1:${ports.get(frontend.name) ?? 0}`, `    default_backend ${frontend.name}_nodes`);
    lines.push(`backend ${frontend.name}_nodes`, `    balance ${frontend.balance === 'leastconn' ? 'leastconn' : 'first'}`, '    option tcp-check', '    tcp-check expect string AUTH\\ REQUIRED');
    frontend.nodes.forEach((port, i) => {
      const backup = frontend.balance === 'prefer-first' && i > 0 ? ' backup' : '';
      lines.push(`    server node${i + 1} 127.0.0.1:${port} check inter 300ms fall 1 rise 1${backup}`);
    });
  }
  return `${lines.join('\n')}\n`;
}

/** True when a connection to `port` is greeted by a fos server. */
async function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk: Buffer) => done(chunk.toString('utf8').startsWith('AUTH REQUIRED')));
  });
}

/**
 * Starts haproxy with `frontends` and waits until each greets.
 * @throws Error when haproxy is missing, exits, or a frontend does not greet within 15 s.
 */
export async function startHaproxy(dir: string, frontends: readonly Frontend[]): Promise<Haproxy> {
  const ports = new Map<string, number>();
  for (const frontend of frontends) ports.set(frontend.name, await freePort());
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, config(frontends, ports));
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = `${stderr}${text}`.slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => {
    stderr += String(err);
  });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.race([exited, delay(5000)]);
    })();
    return stopping;
  };
  try {
    for (const port of ports.values()) {
      await waitUntil(`haproxy on port ${port}`, async () => ((await greets(port)) ? true : undefined), 15_000, 100);
    }
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}; haproxy said: ${stderr.trim() || 'nothing'}`);
  }
  return { ports, stop };
}
