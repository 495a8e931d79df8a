/**
 * Runs the tools of one case in turn, run after run, rotating who goes first so that
 * neither always meets a colder or warmer machine, and gathers their samples.
 */
import type { FosRss, WireBytes } from './types.js';

/** One timed run of one tool. */
export interface Sample {
  readonly ms: number;
  readonly wire?: WireBytes;
  readonly rss?: FosRss;
}

/** A tool taking part in a case: `run(i)` performs and times run number `i`. */
export interface Contender {
  readonly name: string;
  readonly run: (index: number) => Promise<Sample>;
}

/** Samples per contender name, in run order. */
export type SampleTable = ReadonlyMap<string, readonly Sample[]>;

/**
 * Runs every contender `runs` times, alternating; `before(i)` prepares run `i` for all.
 * @throws the first error a run throws; later runs do not happen.
 */
export async function alternate(
  runs: number,
  contenders: readonly Contender[],
  before?: (index: number) => Promise<void>,
): Promise<SampleTable> {
  const table = new Map<string, Sample[]>(contenders.map((contender) => [contender.name, []]));
  for (let index = 0; index < runs; index += 1) {
    if (before !== undefined) await before(index);
    const shift = contenders.length === 0 ? 0 : index % contenders.length;
    const order = [...contenders.slice(shift), ...contenders.slice(0, shift)];
    for (const contender of order) {
      const sample = await contender.run(index);
      table.get(contender.name)?.push(sample);
    }
  }
  return table;
}

/** The peak of each fos process over `samples`, or undefined when none was measured. */
export function peakRss(samples: readonly Sample[]): FosRss | undefined {
  const measured = samples.flatMap((sample) => (sample.rss === undefined ? [] : [sample.rss]));
  if (measured.length === 0) return undefined;
  return {
    clientBytes: Math.max(...measured.map((rss) => rss.clientBytes)),
    serverBytes: Math.max(...measured.map((rss) => rss.serverBytes)),
  };
}

/** The wire bytes of the median run (they barely vary), or undefined when none were counted. */
export function typicalWire(samples: readonly Sample[]): WireBytes | undefined {
  const counted = samples.flatMap((sample) => (sample.wire === undefined ? [] : [sample.wire]));
  if (counted.length === 0) return undefined;
  const sorted = [...counted].sort((a, b) => a.sentBytes + a.receivedBytes - (b.sentBytes + b.receivedBytes));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
