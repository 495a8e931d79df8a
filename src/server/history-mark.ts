/**
 * The server's history mark (issue 9): a random id in `<data>/history-id`, renewed when the
 * start-up reconciliation finds the store behind the disk (a database restored from a
 * backup, or damaged in a crash). The change feed carries it, so an agent whose cursor came
 * from the lost history rereads the whole feed even when the revision has since climbed
 * back to its cursor, which the revision alone cannot show. Every node of a cluster reads
 * the same file (the data folder is shared); it is read again at most once a second.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { Clock } from './types.js';

/** The file, in the data folder. */
export const HISTORY_FILE = 'history-id';
/** How long a read of the file is trusted. */
const REREAD_MS = 1000;

export class HistoryMark {
  readonly #file: string;
  readonly #clock: Clock;
  #id: string | null = null;
  #readAt = 0;

  constructor(dataDir: string, clock: Clock) {
    this.#file = join(dataDir, HISTORY_FILE);
    this.#clock = clock;
  }

  /** The current mark; one is made when there is none yet. */
  async current(): Promise<string> {
    const now = this.#clock.now();
    if (this.#id !== null && now - this.#readAt < REREAD_MS) return this.#id;
    let id: string | null = null;
    try {
      id = (await readFile(this.#file, 'utf8')).trim() || null;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    this.#id = id ?? (await this.renew());
    this.#readAt = now;
    return this.#id;
  }

  /** A new mark: the history before it is not the one agents may have seen. */
  async renew(): Promise<string> {
    const id = randomBytes(8).toString('hex');
    await writeFileAtomic(this.#file, `${id}\n`);
    this.#id = id;
    this.#readAt = this.#clock.now();
    return id;
  }
}
