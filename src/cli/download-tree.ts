/**
 * What `fos download` (and the shell's `get`) fetches: files and, with `-r`, whole folders
 * from one recursive listing. Local names come only from entries inside the folder asked
 * for, checked again here so that a misbehaving server cannot write outside `--out`.
 */
import { mkdir, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import PQueue from 'p-queue';
import { FosError, asFosError } from '../errors.js';
import { baseName, isCanonicalRemotePath, isInside } from '../fs/remote-path.js';
import type { Entry } from '../protocol/types.js';
import type { Session } from './connect-options.js';
import { createProgress } from './progress.js';
import type { CliIo } from './main.js';

/** A file to fetch, with its entry from the listing. */
export interface DownloadItem {
  readonly local: string;
  readonly entry: Entry;
}

/** Everything one download command fetches. */
export interface DownloadPlan {
  /** Folders to create, parents first; `entry` is null for `--out` itself (the root). */
  readonly folders: readonly { readonly local: string; readonly entry: Entry | null }[];
  readonly files: readonly DownloadItem[];
  readonly bytes: number;
}

/** A finished download. */
export interface DownloadResult {
  readonly local: string;
  readonly entry: Entry;
}

/**
 * Stats and lists what to fetch.
 * @throws FosError `FOS_ERR_PATH_NOT_FOUND`, `FOS_ERR_PATH_NOT_FILE` (a folder without
 * `recursive`), `FOS_ERR_PROTO_BAD_REQUEST` when the server lists a path outside the folder.
 */
export async function planDownload(session: Session, remotes: readonly string[], outDir: string, recursive: boolean): Promise<DownloadPlan> {
  const folders: { local: string; entry: Entry | null }[] = [];
  const files: DownloadItem[] = [];
  for (const remote of remotes) {
    const entry = remote === '' ? null : await session.run((client) => client.stat(remote, { signal: session.signal }));
    if (entry !== null && entry.kind === 'file') {
      files.push({ local: join(outDir, baseName(remote)), entry });
      continue;
    }
    if (!recursive) throw new FosError('FOS_ERR_PATH_NOT_FILE', `${remote === '' ? 'the root' : remote} is a folder: use -r to download it with its content`);
    const base = remote === '' ? outDir : join(outDir, baseName(remote));
    folders.push({ local: base, entry });
    const listing = await session.run((client) => client.list(remote, { recursive: true, signal: session.signal }));
    for (const child of listing.entries) {
      if (child.deleted) continue;
      if (!isCanonicalRemotePath(child.path) || !isInside(remote, child.path) || child.path === remote) {
        throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `the server listed ${JSON.stringify(child.path)} under ${JSON.stringify(remote)}`);
      }
      const relative = remote === '' ? child.path : child.path.slice(remote.length + 1);
      const local = join(base, ...relative.split('/'));
      if (child.kind === 'dir') folders.push({ local, entry: child });
      else files.push({ local, entry: child });
    }
  }
  folders.sort((a, b) => a.local.length - b.local.length);
  return { folders, files, bytes: files.reduce((sum, file) => sum + file.entry.size, 0) };
}

/** Options of `runDownload`. */
export interface RunDownloadOptions {
  readonly jobs: number;
  readonly quiet: boolean;
  readonly compress: boolean;
  readonly onError: (err: FosError) => void;
}

/**
 * Creates the folders, fetches the files `jobs` at a time with retries (a retry resumes
 * from the temporary file), then gives folders their mtimes, deepest first.
 * @throws the abort error after Ctrl-C; other failures are returned.
 */
export async function runDownload(
  session: Session,
  io: CliIo,
  plan: DownloadPlan,
  options: RunDownloadOptions,
): Promise<{ results: DownloadResult[]; failures: FosError[] }> {
  const results: DownloadResult[] = [];
  const failures: FosError[] = [];
  const fail = (err: unknown): void => {
    // After Ctrl-C every transfer fails with the abort; it is reported once, below.
    if (session.signal.aborted) return;
    const error = asFosError(err, 'FOS_ERR_SYNC_LOCAL_IO');
    failures.push(error);
    options.onError(error);
  };
  const folders = new Set([...plan.folders.map((folder) => folder.local), ...plan.files.map((file) => dirname(file.local))]);
  for (const folder of folders) await mkdir(folder, { recursive: true });
  const progress = createProgress(io, { total: plan.bytes, label: 'download', quiet: options.quiet });
  const queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
  try {
    for (const file of plan.files) {
      void queue.add(async () => {
        try {
          const entry = await session.run((client) =>
            client.download(file.entry.path, file.local, {
              entry: file.entry,
              signal: session.signal,
              compress: options.compress,
              onProgress: ({ bytes }) => progress.update(file.local, bytes),
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
  for (const folder of [...plan.folders].reverse()) {
    if (folder.entry === null) continue;
    await utimes(folder.local, folder.entry.mtimeMs / 1000, folder.entry.mtimeMs / 1000);
    results.push({ local: folder.local, entry: folder.entry });
  }
  return { results, failures };
}
