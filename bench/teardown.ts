/**
 * Owns everything the bench starts: child processes (each in its own process group, so
 * that forked helpers such as rsync's daemon children go too), servers in this process,
 * and temporary folders. Closed at the end, on an error, and on SIGINT or SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';

const STOP_GRACE_MS = 5_000;

/** The registry of the bench's resources; `close()` is idempotent. */
export class Teardown {
  readonly #children = new Set<ChildProcess>();
  readonly #closers = new Set<() => Promise<void>>();
  readonly #dirs = new Set<string>();
  #closing: Promise<void> | undefined;

  /** Tracks a child spawned with `detached: true`; forgotten once it exits. */
  adopt(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null) return;
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
  }

  /** Registers an in-process resource; returns a function that unregisters it. */
  onClose(close: () => Promise<void>): () => void {
    this.#closers.add(close);
    return () => this.#closers.delete(close);
  }

  /** Registers a folder to remove at the end. */
  removeLater(dir: string): void {
    this.#dirs.add(dir);
  }

  /** Stops every child (SIGTERM, then SIGKILL after a grace period), closes, removes. */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  /** Synchronous last resort for signal and exit handlers: SIGKILL and rmSync. */
  closeNow(): void {
    for (const child of this.#children) signalGroup(child, 'SIGKILL');
    this.#children.clear();
    for (const dir of this.#dirs) rmSync(dir, { recursive: true, force: true });
    this.#dirs.clear();
  }

  /** On SIGINT or SIGTERM: close everything and exit 130 or 143; on exit: close now. */
  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.stderr.write(`\nbench: ${signal}, stopping\n`);
      this.closeNow();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('exit', () => this.closeNow());
  }

  async #closeAll(): Promise<void> {
    const children = [...this.#children];
    await Promise.all(children.map((child) => stopChild(child)));
    for (const close of [...this.#closers].reverse()) {
      try {
        await close();
      } catch {
        // Closing is best effort at the end of a run: the process exits right after.
      }
    }
    this.#closers.clear();
    for (const dir of this.#dirs) await rm(dir, { recursive: true, force: true });
    this.#dirs.clear();
  }
}

/** SIGTERM the child's group, SIGKILL it after the grace period; resolves on exit. */
export async function stopChild(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    // The leader is gone; helpers it forked may remain in the group.
    signalGroup(child, 'SIGKILL');
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  signalGroup(child, 'SIGKILL');
}

/** Sends `signal` to the child's process group, falling back to the child alone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // No such group (already gone, or not a group leader): signal the process itself.
    try {
      child.kill(signal);
    } catch {
      // Already exited and reaped: nothing left to stop.
    }
  }
}
