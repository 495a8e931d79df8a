/**
 * The Fs seam: the few filesystem operations that write the server's storage, behind one
 * small interface so that tests can inject faults (ENOSPC in the middle of an upload, a
 * failing rename) without touching the real disk's behaviour. `nodeFs` is the real thing;
 * `withWriteFault` wraps any Fs and fails writes after a byte budget.
 *
 * Only writes go through the seam. Reads (hashing, downloads) use node:fs directly: a read
 * fault has no recovery path worth testing apart from the error itself.
 */
import { link, open, mkdir, rename, unlink } from 'node:fs/promises';
import { FosError, errnoCode } from '../errors.js';

/** How `openForWrite` opens a file. */
export type WriteMode =
  /** Create a new file; fail with EEXIST if it exists. */
  | 'exclusive'
  /** Create or truncate. */
  | 'truncate'
  /** Create or append at the end (resuming an interrupted upload). */
  | 'append';

/** A file open for writing. `write` writes every byte or throws. */
export interface WritableFile {
  write(data: Uint8Array): Promise<void>;
  /** fsync: the bytes are on stable storage when this resolves. */
  sync(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** The write side of the filesystem, as fos's storage code uses it. */
export interface Fs {
  openForWrite(path: string, mode: WriteMode): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  /** A second name for an existing file (a hard link); fails with EEXIST when `to` exists. */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdirp(path: string): Promise<void>;
  /** fsync a directory so that a rename or a new name in it survives a crash. */
  syncDir(path: string): Promise<void>;
}

const FLAGS: Record<WriteMode, string> = { exclusive: 'wx', truncate: 'w', append: 'a' };

async function openNode(path: string, mode: WriteMode): Promise<WritableFile> {
  const handle = await open(path, FLAGS[mode], 0o600);
  let closed: Promise<void> | undefined;
  return {
    async write(data) {
      let offset = 0;
      while (offset < data.length) {
        const { bytesWritten } = await handle.write(data, offset, data.length - offset);
        offset += bytesWritten;
      }
    },
    sync: () => handle.sync(),
    close() {
      closed ??= handle.close();
      return closed;
    },
  };
}

async function syncDirNode(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Windows cannot fsync a directory (EPERM/EISDIR) and some network filesystems refuse
    // it (EINVAL); the rename itself is still done, only its durability is best effort there.
    const code = errnoCode(err);
    if (code !== 'EPERM' && code !== 'EISDIR' && code !== 'EINVAL') throw err;
  } finally {
    await handle.close();
  }
}

/** The real filesystem. */
export const nodeFs: Fs = Object.freeze({
  openForWrite: openNode,
  rename: (from: string, to: string) => rename(from, to),
  link: (from: string, to: string) => link(from, to),
  unlink: (path: string) => unlink(path),
  mkdirp: async (path: string) => {
    await mkdir(path, { recursive: true });
  },
  syncDir: syncDirNode,
});

/** Builds an error shaped like a Node system error (`code`, `errno`-style message). */
export function systemError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

/** Options of `withWriteFault`. */
export interface WriteFaultOptions {
  /** Bytes that may still be written (across all files) before writes fail. */
  readonly afterBytes: number;
  /** The errno code the failing write throws; `ENOSPC` by default. */
  readonly code?: string;
  /** Only files whose path this accepts are limited; all by default. */
  readonly match?: (path: string) => boolean;
}

/**
 * Wraps an Fs so that writes fail once `afterBytes` bytes have been written, as a full
 * disk does: the write that crosses the budget writes what fits, then throws. For tests
 * of disk-full handling (`withWriteFault(nodeFs, { afterBytes: 0 })`).
 */
export function withWriteFault(base: Fs, options: WriteFaultOptions): Fs {
  let budget = options.afterBytes;
  const code = options.code ?? 'ENOSPC';
  const match = options.match ?? (() => true);
  return {
    ...base,
    async openForWrite(path, mode) {
      const file = await base.openForWrite(path, mode);
      if (!match(path)) return file;
      return {
        async write(data) {
          const fits = Math.max(0, Math.min(budget, data.length));
          if (fits > 0) await file.write(data.subarray(0, fits));
          budget -= fits;
          if (fits < data.length) throw systemError(code, 'write', path);
        },
        sync: () => file.sync(),
        close: () => file.close(),
      };
    },
  };
}

/**
 * Wraps a filesystem error from a storage write as a FosError: a full disk or quota becomes
 * `FOS_ERR_STORE_NO_SPACE`, a missing file `FOS_ERR_PATH_NOT_FOUND`, anything else
 * `FOS_ERR_STORE_WRITE`. The original error stays as `cause`; FosErrors pass through.
 */
export function storageError(err: unknown, action: string): FosError {
  if (err instanceof FosError) return err;
  const code = errnoCode(err);
  const why = err instanceof Error ? err.message : String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new FosError('FOS_ERR_STORE_NO_SPACE', `${action}: no space left on the storage device`, { cause: err });
  }
  if (code === 'ENOENT') return new FosError('FOS_ERR_PATH_NOT_FOUND', `${action}: ${why}`, { cause: err });
  return new FosError('FOS_ERR_STORE_WRITE', `${action}: ${why}`, { cause: err });
}
