/**
 * The system's limit of file watches per user. On Linux, inotify counts the watches of a
 * user in each user namespace and up the chain of namespaces: `fs.inotify.max_user_watches`
 * is the host's limit and `user.max_inotify_watches` the one of the namespace the agent
 * runs in (a container, `unshare --user`); the lower one binds. Other systems have no such
 * per-folder limit that fos can read: null.
 */
import { readFile } from 'node:fs/promises';

/** Where Linux keeps the limits; both are read, the lower wins. */
export const WATCH_LIMIT_FILES = ['/proc/sys/fs/inotify/max_user_watches', '/proc/sys/user/max_inotify_watches'] as const;

/**
 * The binding watch limit, or null when there is none to read (not Linux, /proc hidden).
 * Never throws: an unreadable file just does not count.
 */
export async function readWatchLimit(files: readonly string[] = process.platform === 'linux' ? WATCH_LIMIT_FILES : []): Promise<number | null> {
  let limit: number | null = null;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      // Not there (older kernel, no /proc in a sandbox): this file sets no limit.
      continue;
    }
    const value = Number(text.trim());
    if (Number.isSafeInteger(value) && value >= 0 && (limit === null || value < limit)) limit = value;
  }
  return limit;
}
