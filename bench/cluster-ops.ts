/**
 * Server throughput on metadata-heavy work (issue 10): `--clients` clients upload
 * `--uploads` small files in all, through real `fos server` processes, on one node and on
 * two nodes that share a PostgreSQL store and a data folder (the clients split evenly
 * between the nodes), with one SQLite node as the embedded reference. Every upload is a
 * full FOS/2 upload: tmp file, fsync, SHA-256 check, rename, one commit, a change notice.
 *
 *   npm run build && node dist/bench/cluster-ops.js [--uploads N] [--clients C] [--pg URL] [--json]
 *
 * The PostgreSQL cases create a database `fos_bench_<random>` through URL (a maintenance
 * database, `postgres://postgres@127.0.0.1:5432/postgres` by default) and drop it after.
 * All processes share this machine's cores: two nodes on one machine show what the store
 * and the protocol allow, not what two machines would.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { FosClient } from '../src/client/index.js';
import { FosServer, TEST_BCRYPT_COST, runFos } from '../test-support/soak-procs.js';
import { percentile, withDatabase } from './store-ops.js';

/** One measured case. */
export interface ClusterOpsResult {
  readonly name: string;
  readonly nodes: number;
  readonly clients: number;
  readonly uploads: number;
  readonly seconds: number;
  readonly uploadsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

interface Options {
  readonly uploads: number;
  readonly clients: number;
  readonly pgUrl: string;
  readonly json: boolean;
}

const USER = 'bench';
const PASSWORD = 'cluster bench password';

/** Starts `count` nodes on `data`, with `args` (the store) each. */
async function startNodes(count: number, data: string, args: readonly string[]): Promise<FosServer[]> {
  const nodes: FosServer[] = [];
  try {
    for (let i = 0; i < count; i += 1) nodes.push(await FosServer.start({ dataDir: data, args }));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return nodes;
}

/** `clients` clients, client k on node k mod nodes, upload `uploads` files in all. */
async function measure(name: string, nodes: readonly FosServer[], options: Options, scratch: string): Promise<ClusterOpsResult> {
  const per = Math.floor(options.uploads / options.clients);
  const clients = await Promise.all(
    Array.from({ length: options.clients }, (_v, k) => {
      const node = nodes[k % nodes.length] as FosServer;
      return FosClient.connect({ address: { host: '127.0.0.1', port: node.port }, credentials: { kind: 'password', user: USER, password: PASSWORD }, timeoutMs: 30_000 });
    }),
  );
  const files = await Promise.all(
    clients.map(async (_c, k) => {
      const file = join(scratch, `client-${k}.txt`);
      await writeFile(file, randomBytes(200));
      return file;
    }),
  );
  const tag = randomBytes(3).toString('hex');
  const latencies: number[] = [];
  const started = performance.now();
  try {
    await Promise.all(
      clients.map(async (client, k) => {
        for (let i = 0; i < per; i += 1) {
          const t = performance.now();
          await client.upload(files[k] as string, `${tag}/c${k}/d${i % 50}/f${i}.txt`);
          latencies.push(performance.now() - t);
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.quit()));
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const uploads = per * options.clients;
  return {
    name,
    nodes: nodes.length,
    clients: options.clients,
    uploads,
    seconds: Math.round(seconds * 100) / 100,
    uploadsPerSecond: Math.round(uploads / seconds),
    p50Ms: Math.round(percentile(latencies, 50) * 100) / 100,
    p99Ms: Math.round(percentile(latencies, 99) * 100) / 100,
  };
}

async function addUser(args: readonly string[]): Promise<void> {
  const added = await runFos(['user', 'add', USER, ...args, '--password-stdin', '--cost', String(TEST_BCRYPT_COST)], `${PASSWORD}\n`);
  if (added.code !== 0) throw new Error(`fos user add: ${added.stderr}`);
}

async function sqliteCase(options: Options, root: string): Promise<ClusterOpsResult> {
  const data = join(root, 'sqlite-data');
  await mkdir(data, { recursive: true });
  await addUser(['--data', data]);
  const nodes = await startNodes(1, data, []);
  try {
    return await measure('sqlite, 1 node', nodes, options, root);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

async function postgresCases(options: Options, root: string): Promise<ClusterOpsResult[]> {
  return withDatabase(options.pgUrl, async (url) => {
    const data = join(root, 'shared-data');
    await mkdir(data, { recursive: true });
    await addUser(['--store', url]);
    const nodes = await startNodes(2, data, ['--store', url, '--notices', url]);
    try {
      return [await measure('postgres, 1 node', nodes.slice(0, 1), options, root), await measure('postgres, 2 nodes', nodes, options, root)];
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
}

function parse(args: readonly string[]): Options {
  let uploads = 10_000;
  let clients = 8;
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
    if (arg === '--uploads') uploads = Number(next());
    else if (arg === '--clients') clients = Number(next());
    else if (arg === '--pg') pgUrl = next();
    else if (arg === '--json') json = true;
    else throw new Error(`unknown argument ${String(arg)}`);
  }
  if (!Number.isSafeInteger(uploads) || uploads < 1 || !Number.isSafeInteger(clients) || clients < 2) {
    throw new Error('--uploads takes a whole number above 0, --clients one above 1');
  }
  return { uploads, clients, pgUrl, json };
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
  const root = await mkdtemp(join(tmpdir(), 'fos-bench-cluster-'));
  let results: ClusterOpsResult[];
  try {
    results = [await sqliteCase(options, root), ...(await postgresCases(options, root))];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ cpus: cpus().length, node: process.version, results }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${cpus().length} CPUs, Node ${process.version}, ${options.clients} clients\n`);
  process.stdout.write(`${'case'.padEnd(22)} ${'uploads'.padStart(8)} ${'s'.padStart(7)} ${'uploads/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}\n`);
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(22)} ${String(r.uploads).padStart(8)} ${r.seconds.toFixed(2).padStart(7)} ${String(r.uploadsPerSecond).padStart(10)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)}\n`,
    );
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
