/**
 * `node dist/bench/profile-top.js FILE.cpuprofile... [--top N]`: the functions with the
 * most self time in V8 CPU profiles (as written by `node --cpu-prof`, or by
 * `npm run bench -- --cpu-prof DIR` for every fos process), with their share of samples.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

/** One line of the summary. */
export interface HotFunction {
  readonly name: string;
  readonly where: string;
  readonly share: number;
}

/**
 * Sums self samples per function of a `.cpuprofile` document.
 * @throws Error when the document is not a V8 CPU profile.
 */
export function hotFunctions(profile: unknown, top: number): HotFunction[] {
  if (!isCpuProfile(profile)) throw new Error('not a V8 CPU profile (no nodes and samples)');
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map<string, { name: string; where: string; samples: number }>();
  for (const id of profile.samples) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const where = frame.url === '' ? '' : `${shorten(frame.url)}:${frame.lineNumber + 1}`;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const key = `${name} ${where}`;
    const entry = counts.get(key) ?? { name, where, samples: 0 };
    entry.samples += 1;
    counts.set(key, entry);
  }
  const total = Math.max(1, profile.samples.length);
  return [...counts.values()]
    .sort((a, b) => b.samples - a.samples)
    .slice(0, top)
    .map((entry) => ({ name: entry.name, where: entry.where, share: entry.samples / total }));
}

function isCpuProfile(value: unknown): value is CpuProfile {
  return typeof value === 'object' && value !== null && 'nodes' in value && Array.isArray(value.nodes) && 'samples' in value && Array.isArray(value.samples);
}

function shorten(url: string): string {
  const at = url.search(/\/(dist|node_modules)\//);
  return at >= 0 ? url.slice(at + 1) : url.replace(/^file:\/\//, '');
}

async function main(args: readonly string[]): Promise<number> {
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 15;
  const files = args.filter((arg, i) => arg !== '--top' && (topAt < 0 || i !== topAt + 1));
  if (files.length === 0 || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: node dist/bench/profile-top.js FILE.cpuprofile... [--top N]\n');
    return 2;
  }
  for (const file of files) {
    const hot = hotFunctions(JSON.parse(await readFile(file, 'utf8')), top);
    process.stdout.write(`${basename(file)}\n`);
    for (const entry of hot) {
      process.stdout.write(`  ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.name}  ${entry.where}\n`);
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`profile-top: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
