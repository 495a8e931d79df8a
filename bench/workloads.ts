/**
 * The workload generators of issue 8 and their sizes in full and quick mode: random
 * files, trees of small files, compressible log text, and an overwrite in the middle.
 */
import { randomFill, randomFillSync } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GiB, KiB, MiB } from './stats.js';

const WRITE_CHUNK_BYTES = 8 * MiB;
const WRITE_CONCURRENCY = 64;

/** How big each workload is. */
export interface WorkloadSizes {
  /** W1 (and W3's base file): one file of random bytes. */
  readonly bigFileBytes: number;
  /** W2: files, folders they spread over, and bytes per file. */
  readonly smallFiles: number;
  readonly smallFolders: number;
  readonly smallFileBytes: number;
  /** W3: bytes overwritten in the middle of the big file. */
  readonly overwriteBytes: number;
  /** W4 and M1: files already in sync, folders they spread over. */
  readonly treeFiles: number;
  readonly treeFolders: number;
  /** W5: bytes of log lines. */
  readonly logBytes: number;
  /** L1: changes timed from one agent to the other. */
  readonly latencyChanges: number;
}

/** Issue 8's sizes; `--quick` shrinks them so that the whole bench takes about a minute. */
export function workloadSizes(isQuick: boolean): WorkloadSizes {
  return Object.freeze(
    isQuick
      ? {
          bigFileBytes: 64 * MiB,
          smallFiles: 1_000,
          smallFolders: 10,
          smallFileBytes: 4 * KiB,
          overwriteBytes: 1 * MiB,
          treeFiles: 10_000,
          treeFolders: 100,
          logBytes: 32 * MiB,
          latencyChanges: 10,
        }
      : {
          bigFileBytes: 1 * GiB,
          smallFiles: 10_000,
          smallFolders: 100,
          smallFileBytes: 4 * KiB,
          overwriteBytes: 1 * MiB,
          treeFiles: 100_000,
          treeFolders: 1_000,
          logBytes: 256 * MiB,
          latencyChanges: 100,
        },
  );
}

/**
 * Writes `bytes` of random data to `path`.
 * @throws Error from the file system.
 */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(WRITE_CHUNK_BYTES, Math.max(bytes, 1)));
    for (let written = 0; written < bytes; ) {
      const length = Math.min(buffer.length, bytes - written);
      await randomFillAsync(buffer, 0, length);
      await handle.write(buffer, 0, length);
      written += length;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Writes `files` random files of `fileBytes` each, spread evenly over `folders` folders
 * under `root` (`d0042/f0001234.bin`).
 * @throws Error from the file system.
 */
export async function writeFileTree(root: string, files: number, folders: number, fileBytes: number): Promise<void> {
  const folderNames = Array.from({ length: folders }, (_, i) => `d${String(i).padStart(4, '0')}`);
  await Promise.all(folderNames.map((name) => mkdir(join(root, name), { recursive: true })));
  let next = 0;
  const worker = async (): Promise<void> => {
    const content = Buffer.allocUnsafe(fileBytes);
    while (next < files) {
      const index = next;
      next += 1;
      randomFillSync(content);
      const folder = folderNames[index % folders] ?? 'd0000';
      await writeFile(join(root, folder, `f${String(index).padStart(7, '0')}.bin`), content);
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
}

/**
 * Writes about `bytes` of server log lines (timestamps, levels, paths, ids): text that
 * compresses the way real logs do, not a repeated line.
 * @throws Error from the file system.
 */
export async function writeLogFile(path: string, bytes: number): Promise<void> {
  const random = xorshift(0x5eed);
  const pick = <T>(items: readonly [T, ...T[]]): T => items[random() % items.length] ?? items[0];
  const handle = await open(path, 'w');
  let time = Date.UTC(2026, 10, 24, 8, 0, 0);
  try {
    for (let written = 0; written < bytes; ) {
      const lines: string[] = [];
      let chunkBytes = 0;
      while (chunkBytes < MiB) {
        time += random() % 40;
        const status = pick(STATUSES);
        const line =
          `${new Date(time).toISOString()} ${pick(LEVELS)} [${pick(COMPONENTS)}] ${pick(METHODS)} ` +
          `/api/v1/${pick(RESOURCES)}/${random() % 100_000} ${status} ${random() % 900}ms ` +
          `user=${pick(USERS)} req=${(random() >>> 0).toString(16).padStart(8, '0')}` +
          (status >= 500 ? ` err="${pick(ERRORS)}"` : '') +
          '\n';
        lines.push(line);
        chunkBytes += line.length;
      }
      const chunk = Buffer.from(lines.join(''), 'utf8').subarray(0, bytes - written);
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Overwrites `bytes` in the middle of `path` with fresh random data (same size, new mtime).
 * @throws Error from the file system.
 */
export async function overwriteMiddle(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    const length = Math.min(bytes, size);
    const data = await randomFillAsync(Buffer.allocUnsafe(length));
    await handle.write(data, 0, length, Math.floor((size - length) / 2));
  } finally {
    await handle.close();
  }
}

const LEVELS = ['INFO ', 'INFO ', 'INFO ', 'INFO ', 'DEBUG', 'WARN ', 'ERROR'] as const;
const COMPONENTS = ['http', 'auth', 'store', 'sync', 'queue', 'cache', 'mailer'] as const;
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'] as const;
const RESOURCES = ['items', 'users', 'orders', 'files', 'sessions', 'reports', 'invoices'] as const;
const STATUSES = [200, 200, 200, 200, 201, 204, 304, 400, 404, 500, 503] as const;
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'] as const;
const ERRORS = ['upstream timeout', 'connection reset by peer', 'deadlock detected', 'disk quota exceeded'] as const;

/** Fills `length` bytes of `buffer` from `offset` with random bytes, off the main thread. */
function randomFillAsync(buffer: Buffer, offset = 0, length = buffer.length - offset): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    randomFill(buffer, offset, length, (err, filled) => (err === null ? resolve(filled) : reject(err)));
  });
}

/** A small fast PRNG (xorshift32): the log text only needs variety, not secrecy. */
function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}
