/** The bench's command line: `--quick`, `--json FILE`, `--runs N`, `--only W1,W2`. */
import { WORKLOAD_IDS, type WorkloadId } from './types.js';

/** Parsed and defaulted options, frozen. */
export interface BenchOptions {
  readonly isQuick: boolean;
  readonly runs: number;
  readonly jsonFile: string | undefined;
  readonly only: readonly WorkloadId[];
  /** When set, every fos process writes a V8 CPU profile into this folder. */
  readonly cpuProfileDir: string | undefined;
  readonly isHelp: boolean;
}

/** Runs per case when `--runs` is absent: at least 3 in full mode, as issue 8 asks. */
export const DEFAULT_RUNS = 3;
/** Runs per case in quick mode, which has to finish in about a minute. */
export const DEFAULT_QUICK_RUNS = 1;

/** Usage text printed by `--help` and after a bad flag. */
export const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--only ${WORKLOAD_IDS.join(',')}] [--json FILE] [--cpu-prof DIR]

  --quick         small workloads (CI smoke test, about a minute)
  --runs N        timed runs per tool and case (default ${DEFAULT_RUNS}, quick ${DEFAULT_QUICK_RUNS})
  --only LIST     comma-separated workloads to run (default: all)
  --json FILE     also write every figure to FILE as JSON
  --cpu-prof DIR  profile every fos process (node --cpu-prof) into DIR;
                  summarize with: node dist/bench/profile-top.js DIR/*.cpuprofile
`;

/** A command line the bench cannot run with. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Reads the bench's flags from `args` (process.argv without node and the script).
 * @throws UsageError on an unknown flag, a missing value, a bad run count or workload.
 */
export function parseOptions(args: readonly string[]): BenchOptions {
  let isQuick = false;
  let isHelp = false;
  let runs: number | undefined;
  let jsonFile: string | undefined;
  let cpuProfileDir: string | undefined;
  let only: WorkloadId[] = [...WORKLOAD_IDS];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg) : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      i += 1;
      return next;
    };
    switch (flag) {
      case '--quick':
        isQuick = true;
        break;
      case '--help':
      case '-h':
        isHelp = true;
        break;
      case '--runs': {
        const text = value();
        const parsed = Number(text);
        if (!Number.isInteger(parsed) || parsed < 1 || parsed > 100) {
          throw new UsageError(`--runs wants a whole number from 1 to 100, not ${text}`);
        }
        runs = parsed;
        break;
      }
      case '--json':
        jsonFile = value();
        break;
      case '--cpu-prof':
        cpuProfileDir = value();
        break;
      case '--only':
        only = parseWorkloads(value());
        break;
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  return Object.freeze({
    isQuick,
    isHelp,
    runs: runs ?? (isQuick ? DEFAULT_QUICK_RUNS : DEFAULT_RUNS),
    jsonFile,
    cpuProfileDir,
    only: Object.freeze(only),
  });
}

function parseWorkloads(text: string): WorkloadId[] {
  const wanted = new Set(
    text
      .split(',')
      .map((part) => part.trim().toUpperCase())
      .filter((part) => part !== ''),
  );
  for (const id of wanted) {
    if (!isWorkloadId(id)) throw new UsageError(`unknown workload ${id} (known: ${WORKLOAD_IDS.join(', ')})`);
  }
  if (wanted.size === 0) throw new UsageError('--only needs at least one workload');
  // Keep the canonical order whatever order the flag names them in.
  return WORKLOAD_IDS.filter((id) => wanted.has(id));
}

function isWorkloadId(text: string): text is WorkloadId {
  return (WORKLOAD_IDS as readonly string[]).includes(text);
}

function splitOnce(arg: string): [string, string] {
  const at = arg.indexOf('=');
  return [arg.slice(0, at), arg.slice(at + 1)];
}
