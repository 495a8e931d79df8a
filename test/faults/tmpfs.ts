/**
 * A small real filesystem for disk-full tests: a tmpfs mounted on a folder (Linux, as
 * root). Where mounting is not allowed the probe says why, and the tests skip with it.
 */
import { execFile } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A mounted tmpfs. `unmount()` is idempotent. */
export interface Tmpfs {
  readonly dir: string;
  /** Fills the filesystem with a ballast file, leaving about `leaveBytes` free. */
  fill(leaveBytes: number): Promise<void>;
  /** Removes the ballast: space returns. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

/**
 * Mounts a tmpfs of `sizeBytes` on `dir`, or returns why it cannot (not Linux, not root,
 * mount refused).
 */
export async function mountTmpfs(dir: string, sizeBytes: number): Promise<Tmpfs | string> {
  if (process.platform !== 'linux') return `mounting a tmpfs needs Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  } catch (err) {
    return `mount -t tmpfs was refused: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  const ballast = join(dir, 'ballast');
  let mounted = true;
  return {
    dir,
    async fill(leaveBytes) {
      const { stdout } = await run('df', ['-B1', '--output=avail', dir]);
      const avail = Number(stdout.trim().split('\n').pop());
      const handle = await open(ballast, 'a');
      try {
        const chunk = Buffer.alloc(64 * 1024, 7);
        let left = Math.max(0, avail - leaveBytes);
        while (left > 0) {
          const { bytesWritten } = await handle.write(chunk, 0, Math.min(chunk.length, left));
          left -= bytesWritten;
        }
      } catch (err) {
        // Full before the count ran out (metadata takes space too): full is what we want.
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        await handle.close();
      }
    },
    async free() {
      await rm(ballast, { force: true });
    },
    async unmount() {
      if (!mounted) return;
      mounted = false;
      await run('umount', ['-l', dir]);
    },
  };
}
