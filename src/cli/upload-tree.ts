/**
 * What `fos upload` (and the shell's `put`) sends: local files and, with `-r`, folders
 * walked depth first. Folders are created first (so empty ones exist and keep their
 * mtime), then files go through the connection pool a few at a time.
 */
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import PQueue from 'p-queue';
import { FosError, asFosError, errnoCode } from '../errors.js';
import { joinRemote } from '../fs/remote-path.js';
import type { FosClient } from '../client/index.js';
import type { Entry } from '../protocol/types.js';
import type { Session } from './connect-options.js';
import { createProgress } from './progress.js';
import type { CliIo } from './main.js';

/** A file to send. */
export interface UploadItem {
  readonly local: string;
  readonly remote: string;
  readonly size: number;
}

/** A folder to create. */
export interface FolderItem {
  readonly local: string;
  readonly remote: string;
  readonly mtimeMs: number;
}

/** Everything one upload command sends. */
export interface UploadPlan {
  readonly folders: readonly FolderItem[];
  readonly files: readonly UploadItem[];
  readonly bytes: number;
}

/** A finished upload: where it came from and the entry the server committed. */
export interface UploadResult {
  readonly local: string;
  readonly entry: Entry;
}

/**
 * Lists what to send. Symlinks and special files inside folders are skipped with a
 * warning, as are names the server would refuse.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND` for a missing argument, `FOS_ERR_PATH_NOT_FILE`
 * for a folder without `recursive`.
 */
export async function planUpload(
  locals: readonly string[],
  toDir: string,
  recursive: boolean,
  warn: (message: string) => void,
): Promise<UploadPlan> {
  const folders: FolderItem[] = [];
  const files: UploadItem[] = [];
  for (const local of locals) {
    const info = await statLocal(local);
    const remote = joinRemote(toDir, basename(resolve(local)).normalize('NFC'));
    if (info.isFile()) {
      files.push({ local, remote, size: info.size });
    } else if (info.isDirectory()) {
      if (!recursive) throw new FosError('FOS_ERR_PATH_NOT_FILE', `${local} is a folder: use -r to upload it with its content`);
      folders.push({ local, remote, mtimeMs: info.mtimeMs });
      await walk(local, remote, folders, files, warn);
    } else {
      throw new FosError('FOS_ERR_PATH_NOT_FILE', `${local} is not a regular file or folder`);
    }
  }
  return { folders, files, bytes: files.reduce((sum, file) => sum + file.size, 0) };
}

async function walk(dir: string, remoteDir: string, folders: FolderItem[], files: UploadItem[], warn: (message: string) => void): Promise<void> {
  const children = await readdir(dir, { withFileTypes: true });
  children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const child of children) {
    const local = join(dir, child.name);
    let remote: string;
    try {
      remote = joinRemote(remoteDir, child.name.normalize('NFC'));
    } catch (err) {
      warn(`skipping ${local}: ${asFosError(err).message}`);
      continue;
    }
    if (child.isDirectory()) {
      folders.push({ local, remote, mtimeMs: (await stat(local)).mtimeMs });
      await walk(local, remote, folders, files, warn);
    } else if (child.isFile()) {
      files.push({ local, remote, size: (await stat(local)).size });
    } else {
      warn(`skipping ${local}: ${child.isSymbolicLink() ? 'symbolic links are not followed' : 'not a regular file'}`);
    }
  }
}

/** Options of `runUpload`. */
export interface RunUploadOptions {
  readonly jobs: number;
  readonly quiet: boolean;
  readonly compress: boolean;
  readonly baseRev?: number | null;
  /** Told of each failure as it happens (the run goes on with the other files). */
  readonly onError: (err: FosError) => void;
}

/**
 * Creates the folders, then uploads the files with `jobs` at a time, each with retries.
 * Returns what succeeded and what failed; an abort (Ctrl-C) throws.
 */
export async function runUpload(
  session: Session,
  io: CliIo,
  plan: UploadPlan,
  options: RunUploadOptions,
): Promise<{ results: UploadResult[]; failures: FosError[] }> {
  const results: UploadResult[] = [];
  const failures: FosError[] = [];
  const fail = (err: unknown): void => {
    // After Ctrl-C every transfer fails with the abort; it is reported once, below.
    if (session.signal.aborted) return;
    const error = asFosError(err);
    failures.push(error);
    options.onError(error);
  };
  for (const folder of plan.folders) {
    if (session.signal.aborted) break;
    try {
      const entry = await session.run((client) => mkdirOrExisting(client, folder));
      results.push({ local: folder.local, entry });
    } catch (err) {
      fail(err);
    }
  }
  const progress = createProgress(io, { total: plan.bytes, label: 'upload', quiet: options.quiet });
  const queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
  try {
    for (const file of plan.files) {
      void queue.add(async () => {
        try {
          const entry = await session.run((client) =>
            client.upload(file.local, file.remote, {
              signal: session.signal,
              compress: options.compress,
              onProgress: ({ bytes }) => progress.update(file.remote, bytes),
              ...(options.baseRev === undefined ? {} : { baseRev: options.baseRev }),
            }),
          );
          results.push({ local: file.local, entry });
        } catch (err) {
          fail(err);
        }
      });
    }
    await queue.onIdle();
  } finally {
    progress.stop();
  }
  if (session.signal.aborted) throw session.signal.reason;
  return { results, failures };
}

async function mkdirOrExisting(client: FosClient, folder: FolderItem): Promise<Entry> {
  try {
    return await client.mkdir(folder.remote, { mtimeMs: folder.mtimeMs });
  } catch (err) {
    if (!(err instanceof FosError) || err.code !== 'FOS_ERR_PATH_EXISTS') throw err;
    const entry = await client.stat(folder.remote);
    if (entry.kind !== 'dir') throw err;
    return entry;
  }
}

async function statLocal(local: string): Promise<Stats> {
  try {
    return await stat(local);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new FosError('FOS_ERR_PATH_NOT_FOUND', `no such local file or folder: ${local}`, { cause: err });
    throw asFosError(err, 'FOS_ERR_SYNC_LOCAL_IO');
  }
}
