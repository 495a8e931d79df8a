/**
 * A lowered inotify watch limit for one process, for the watcher budget tests (issue 11).
 * Linux counts watches per user in each user namespace and up the chain: a process started
 * under `unshare --user --map-root-user` whose namespace has `user.max_inotify_watches`
 * set low really gets that limit, and nothing else on the machine is affected.
 *
 * Note: `/proc/sys/fs/inotify/max_user_watches` is NOT per namespace. Written from such a
 * namespace by the real root it changes the host's limit for every program, so the tests
 * only ever write the namespace's own `/proc/sys/user/max_inotify_watches`.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The host's limit file (read only). */
const HOST_LIMIT = '/proc/sys/fs/inotify/max_user_watches';
/** The namespace's own limit, as seen from inside it. */
const NAMESPACE_LIMIT = '/proc/sys/user/max_inotify_watches';

/** A command prefix that starts a program under a lowered watch limit. */
export interface WatchNamespace {
  /** argv before the program's own: `unshare ... sh -c '...; exec "$0" "$@"'`. */
  readonly prefix: readonly string[];
  /** The limit the program sees (and is held to). */
  readonly limit: number;
}

/**
 * Probes for a lowered limit: `wanted`, or less when the host's own limit is lower (the
 * host's counts too, so a namespace cannot raise it). Returns why not where the machine does
 * not allow it (not Linux, no user namespaces, a host limit too low to go below).
 */
export async function lowerWatchLimit(wanted: number): Promise<WatchNamespace | string> {
  if (process.platform !== 'linux') return `inotify limits need Linux, not ${process.platform}`;
  let host: number;
  try {
    host = Number((await readFile(HOST_LIMIT, 'utf8')).trim());
  } catch (err) {
    return `cannot read ${HOST_LIMIT}: ${err instanceof Error ? err.message : String(err)}`;
  }
  // Well below the host's limit: the namespace's value is the one that binds, and the
  // watches it takes (they count against the host's limit too) leave the rest of the
  // machine half of what it had.
  const limit = Math.min(wanted, Math.floor(host / 2));
  if (!Number.isSafeInteger(limit) || limit < 4) return `the host's inotify limit (${host}) leaves no room to go below`;
  const script = `echo ${limit} > ${NAMESPACE_LIMIT} && exec "$0" "$@"`;
  const prefix = ['unshare', '--user', '--map-root-user', 'sh', '-c', script];
  try {
    const { stdout } = await run(prefix[0] as string, [...prefix.slice(1), 'cat', NAMESPACE_LIMIT], { timeout: 10_000 });
    if (Number(stdout.trim()) !== limit) return `the namespace's limit did not take (${stdout.trim()})`;
  } catch (err) {
    return `unshare --user is not allowed here: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  return { prefix, limit };
}
