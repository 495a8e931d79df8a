/**
 * Transfer progress on stderr: one bar for a whole command (bytes, rate, ETA), shown only
 * on a terminal, never with `--quiet`, and only once a transfer has run for half a second,
 * so quick commands print nothing extra.
 */
import type { SingleBar } from 'cli-progress';
import { systemClock } from '../client/index.js';
import type { Clock } from '../client/index.js';
import { formatBytes } from './format.js';
import { isTerminal } from './terminal.js';
import type { CliIo } from './main.js';

/** How long a transfer runs before its bar appears. */
export const PROGRESS_DELAY_MS = 500;

/** Progress of a multi-file transfer: each file reports its own bytes done. */
export interface Progress {
  /** Records that the file `key` has `bytes` done. */
  update(key: string, bytes: number): void;
  /** Removes the bar. Idempotent. */
  stop(): void;
}

/** Options of `createProgress`. */
export interface ProgressOptions {
  readonly total: number;
  readonly label: string;
  readonly quiet: boolean;
  readonly clock?: Clock;
}

/** A Progress that draws on stderr when it is a terminal, and does nothing otherwise. */
export function createProgress(io: CliIo, options: ProgressOptions): Progress {
  if (options.quiet || !isTerminal(io.stderr)) return { update: () => undefined, stop: () => undefined };
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const done = new Map<string, number>();
  let sum = 0;
  let bar: SingleBar | null = null;
  let stopped = false;
  const payload = (): Record<string, string> => {
    const seconds = Math.max(0.001, (clock.now() - startedAt) / 1000);
    return { done: formatBytes(sum), size: formatBytes(options.total), rate: `${formatBytes(sum / seconds)}/s` };
  };
  const show = async (): Promise<void> => {
    // Loaded on demand: only transfers on a terminal that last draw a bar.
    const { Presets, SingleBar } = await import('cli-progress');
    if (stopped) return;
    bar = new SingleBar(
      {
        format: `${options.label} {bar} {percentage}% | {done} / {size} | {rate} | ETA {eta_formatted}`,
        stream: io.stderr as NodeJS.WritableStream & { isTTY: boolean },
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    bar.start(Math.max(1, options.total), sum, payload());
  };
  const cancelShow = clock.setTimer(() => void show(), PROGRESS_DELAY_MS);
  return {
    update(key, bytes) {
      sum += bytes - (done.get(key) ?? 0);
      done.set(key, bytes);
      bar?.update(sum, payload());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      cancelShow();
      bar?.stop();
    },
  };
}
