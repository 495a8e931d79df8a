/**
 * The long fuzz run behind `npm run fuzz` (issue 7, "done when" 3): at least 100,000
 * random and mutated messages in FOS/2 and legacy mode against a running server, while an
 * honest client uploads and downloads. It fails (exit code 1) on a crash, an error-level
 * log line, a failed honest round, or server memory over the bound.
 *
 *   npm run fuzz -- --messages 200000 --seed 42 --concurrency 32
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FosClient } from '../src/client/index.js';
import { runFuzz } from './fuzz-messages.js';
import { startFuzzServer } from './fuzz-server.js';
import { rssBytes } from './raw-peer.js';

const HONEST = { user: 'alice', password: 'honest and long enough' };
const FUZZER = { user: 'mallory', password: 'fuzzer password' };
const MAX_RSS_BYTES = 512 * 1024 * 1024;
/** The whole run stops after this long, whatever the message count. */
const DEADLINE_MS = 30 * 60_000;
const OPEN_LIMITS = ['--login-attempts-per-ip', '1000000000', '--login-fails-per-user-ip', '1000000000', '--login-fails-per-user', '1000000000'];

interface Args {
  readonly messages: number;
  readonly seed: number;
  readonly concurrency: number;
}

function parseArgs(argv: readonly string[]): Args {
  const value = (name: string, fallback: number): number => {
    const index = argv.indexOf(`--${name}`);
    if (index < 0) return fallback;
    const parsed = Number(argv[index + 1]);
    if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`--${name} takes a positive whole number`);
    return parsed;
  };
  return { messages: value('messages', 100_000), seed: value('seed', 1), concurrency: value('concurrency', 32) };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const work = await mkdtemp(join(tmpdir(), 'fos-fuzz-honest-'));
  const server = await startFuzzServer({
    users: { [HONEST.user]: HONEST.password, [FUZZER.user]: FUZZER.password },
    bcryptCost: 4,
    args: [...OPEN_LIMITS, '--auth-timeout', '5', '--idle-timeout', '5'],
  });
  const problems: string[] = [];
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(), DEADLINE_MS);
  const pid = server.child.pid ?? 0;
  let maxRss = 0;
  const sampler = setInterval(() => {
    void rssBytes(pid).then((rss) => {
      if (rss !== undefined) maxRss = Math.max(maxRss, rss);
    });
    if (!server.isRunning()) controller.abort();
  }, 250);
  let rounds = 0;
  const honest = (async () => {
    const client = await FosClient.connect({
      address: { host: server.host, port: server.port },
      credentials: { kind: 'password', user: HONEST.user, password: HONEST.password },
    });
    try {
      while (!controller.signal.aborted) {
        const content = randomBytes(32 * 1024 + (rounds % 1000));
        const local = join(work, `h${rounds % 50}.bin`);
        await writeFile(local, content);
        await client.upload(local, `honest/h${rounds % 50}.bin`);
        await client.download(`honest/h${rounds % 50}.bin`, `${local}.back`);
        if (!(await readFile(`${local}.back`)).equals(content)) throw new Error(`honest round ${rounds} read back other bytes`);
        rounds += 1;
      }
    } finally {
      await client.close();
    }
  })().catch((err: unknown) => {
    problems.push(`honest client failed: ${err instanceof Error ? err.message : String(err)}`);
  });
  const started = Date.now();
  let reported = 0;
  try {
    const stats = await runFuzz({
      address: { host: server.host, port: server.port },
      user: FUZZER.user,
      password: FUZZER.password,
      messages: args.messages,
      seed: args.seed,
      concurrency: args.concurrency,
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.messages - reported >= 10_000) {
          reported = progress.messages;
          process.stderr.write(`fuzz: ${progress.messages} messages, ${progress.connections} connections, rss ${(maxRss / 2 ** 20).toFixed(0)} MiB\n`);
        }
      },
    });
    controller.abort();
    await honest;
    if (stats.messages < args.messages) problems.push(`only ${stats.messages} of ${args.messages} messages were sent before the deadline or a crash`);
    if (!server.isRunning()) problems.push('the server exited');
    if (maxRss > MAX_RSS_BYTES) problems.push(`server memory reached ${maxRss} bytes`);
    if (rounds === 0) problems.push('the honest client completed no round');
    const errors = server.records().filter((r) => typeof r['level'] === 'number' && r['level'] >= 50);
    for (const record of errors.slice(0, 10)) problems.push(`error log: ${JSON.stringify(record)}`);
    const summary = { ...stats, seed: args.seed, honestRounds: rounds, maxRssBytes: maxRss, errorLogs: errors.length, seconds: (Date.now() - started) / 1000 };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    clearTimeout(deadline);
    clearInterval(sampler);
    controller.abort();
    await honest;
    await server.dispose();
    await rm(work, { recursive: true, force: true });
  }
  for (const problem of problems) process.stderr.write(`fuzz: ${problem}\n`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
