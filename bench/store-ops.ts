/**
 * Store throughput: small commits (one file each, as an upload commits) through the Store
 * API, on SQLite and on PostgreSQL, with one writer and with several writers that stand
 * for several server nodes (a pool each). The figures in docs/scaling.md come from here.
 *
 *   npm run build && node dist/bench/store-ops.js [--commits N] [--writers W] [--pg URL] [--json]
 *
 * The PostgreSQL cases create a database `fos_bench_<random>` through URL (a maintenance
 * database, `postgres://postgres@127.0.0.1:5432/postgres` by default) and drop it after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { openPostgresStore } from '../src/store/postgres.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Change, Store } from '../src/store/types.js';

/** One measured case. */
export interface StoreOpsResult {
  readonly name: string;
  readonly commits: number;
  readonly writers: number;
  readonly seconds: number;
  readonly commitsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

interface Options {
  readonly commits: number;
  readonly writers: number;
  readonly pgUrl: string;
  readonly json: boolean;
}

const SHA = 'e'.repeat(64);

function change(writer: number, i: number): Change {
  return { path: `w${writer}/d${i % 50}/f${i}.txt`, kind: 'file', size: 100 + (i % 900), mtimeMs: 1_700_000_000_000 + i, sha256: SHA, deleted: false };
}

/** The p-th percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/** Runs `writers` loops at once, loop w committing `perWriter` changes for `userOf(w)` on `storeOf(w)`. */
async function measure(
  name: string,
  writers: number,
  perWriter: number,
  storeOf: (w: number) => Store,
  userOf: (w: number) => string,
): Promise<StoreOpsResult> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_v, w) => {
      const store = storeOf(w);
      const user = userOf(w);
      for (let i = 0; i < perWriter; i += 1) {
        const t = performance.now();
        await store.commit(user, [change(w, i)], Date.now());
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const commits = writers * perWriter;
  return {
    name,
    commits,
    writers,
    seconds: round(seconds, 2),
    commitsPerSecond: Math.round(commits / seconds),
    p50Ms: round(percentile(latencies, 50), 2),
    p99Ms: round(percentile(latencies, 99), 2),
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

async function sqliteCases(options: Options): Promise<StoreOpsResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fos-bench-store-'));
  const store = await openSqliteStore(dir);
  try {
    const users = Array.from({ length: options.writers }, (_v, w) => `u${w}`);
    for (const user of ['solo', ...users]) await store.createUser(user, 'h', 0);
    return [
      await measure('sqlite, 1 writer', 1, options.commits, () => store, () => 'solo'),
      await measure(`sqlite, ${options.writers} writers, a user each`, options.writers, Math.floor(options.commits / options.writers), () => store, (w) => `u${w}`),
    ];
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `fn` on a database of its own, created through `adminUrl` and dropped after. */
export async function withDatabase<T>(adminUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `fos_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

async function postgresCases(options: Options): Promise<StoreOpsResult[]> {
  return withDatabase(options.pgUrl, async (url) => {
    // One store (one pool) per writer: each stands for a server node.
    const nodes = await Promise.all(Array.from({ length: options.writers }, () => openPostgresStore(url, { maxConnections: 2 })));
    try {
      const first = nodes[0];
      if (first === undefined) throw new Error('no writers');
      const users = Array.from({ length: options.writers }, (_v, w) => `u${w}`);
      for (const user of ['solo', 'shared', ...users]) await first.createUser(user, 'h', 0);
      const per = Math.floor(options.commits / options.writers);
      const node = (w: number): Store => nodes[w] ?? first;
      const results = [
        await measure('postgres, 1 writer', 1, options.commits, () => first, () => 'solo'),
        await measure(`postgres, ${options.writers} nodes, a user each`, options.writers, per, node, (w) => `u${w}`),
        await measure(`postgres, ${options.writers} nodes, one user`, options.writers, per, node, () => 'shared'),
      ];
      results.push(...(await relaxedCases(url, options)));
      return results;
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
}

/**
 * The same with synchronous_commit=off, which is what SQLite's WAL mode with
 * synchronous=NORMAL does: a commit returns before its WAL reaches the disk, so a power
 * cut can lose the last fraction of a second of commits, never consistency.
 */
async function relaxedCases(url: string, options: Options): Promise<StoreOpsResult[]> {
  const relaxed = new URL(url);
  relaxed.searchParams.set('options', '-c synchronous_commit=off');
  const nodes = await Promise.all(
    Array.from({ length: options.writers }, () => openPostgresStore(relaxed.toString(), { maxConnections: 2 })),
  );
  try {
    const first = nodes[0];
    if (first === undefined) throw new Error('no writers');
    const users = Array.from({ length: options.writers }, (_v, w) => `r${w}`);
    for (const user of ['relaxed', ...users]) await first.createUser(user, 'h', 0);
    const per = Math.floor(options.commits / options.writers);
    const node = (w: number): Store => nodes[w] ?? first;
    return [
      await measure('postgres async commit, 1 writer', 1, options.commits, () => first, () => 'relaxed'),
      await measure(`postgres async commit, ${options.writers} nodes, a user each`, options.writers, per, node, (w) => `r${w}`),
    ];
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
}

function parse(args: readonly string[]): Options {
  let commits = 10_000;
  let writers = 8;
  let pgUrl = process.env['FOS_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  let json = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    const next = (): string => {
      const value = args[i + 1];
      if (value === undefined) throw new Error(`${String(arg)} needs a value`);
      i += 1;
      return value;
    };
    if (arg === '--commits') commits = Number(next());
    else if (arg === '--writers') writers = Number(next());
    else if (arg === '--pg') pgUrl = next();
    else if (arg === '--json') json = true;
    else throw new Error(`unknown argument ${String(arg)}`);
  }
  if (!Number.isSafeInteger(commits) || commits < 1 || !Number.isSafeInteger(writers) || writers < 1) {
    throw new Error('--commits and --writers take whole numbers above 0');
  }
  return { commits, writers, pgUrl, json };
}

/** Runs every case and prints a table (or JSON); resolves to the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let options: Options;
  try {
    options = parse(args);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const results = [...(await sqliteCases(options)), ...(await postgresCases(options))];
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ cpus: cpus().length, node: process.version, results }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${cpus().length} CPUs, Node ${process.version}\n`);
  process.stdout.write(`${'case'.padEnd(46)} ${'commits'.padStart(8)} ${'s'.padStart(7)} ${'commits/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}\n`);
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(46)} ${String(r.commits).padStart(8)} ${r.seconds.toFixed(2).padStart(7)} ${String(r.commitsPerSecond).padStart(10)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)}\n`,
    );
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
