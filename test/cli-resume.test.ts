/**
 * Issue 4, "Done when" 3: a transfer killed halfway (SIGKILL of the `fos` process) and run
 * again resumes where it stopped and ends byte-identical; nothing partial ever appears
 * under the final name. The server's log says how many bytes the second run moved.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliFixture } from './cli-support.js';
import type { CliFixture } from './cli-support.js';
import { FOS_BIN } from './support/server.js';

const SIZE = 200 * 1024 * 1024;
const KILL_AFTER_BYTES = 40 * 1024 * 1024;
const DEADLINE_MS = 60_000;

let fx: CliFixture;
let source: string;
let sourceSha: string;

beforeAll(async () => {
  fx = await startCliFixture();
  source = join(fx.dir, 'big.bin');
  // 1 MiB of random bytes, each copy stamped with its index, so no two chunks are alike.
  const block = randomBytes(1024 * 1024);
  const hash = createHash('sha256');
  const file = await open(source, 'w');
  for (let i = 0; i < SIZE / block.length; i += 1) {
    block.writeUInt32BE(i, 0);
    hash.update(block);
    await file.write(block);
  }
  await file.close();
  sourceSha = hash.digest('hex');
});

afterAll(async () => {
  await fx.dispose();
});

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Bytes of the first file in `dir` (recursively) whose name passes `match`, or 0. */
async function sizeOfMatch(dir: string, match: (name: string) => boolean): Promise<{ path: string; size: number } | null> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    // The folder does not exist yet: nothing has been written.
    return null;
  }
  for (const entry of entries) {
    if (entry.isFile() && match(entry.name)) {
      const path = join(entry.parentPath, entry.name);
      return { path, size: (await stat(path)).size };
    }
  }
  return null;
}

/**
 * Runs `fos ARGS` and SIGKILLs it once `progress()` reports at least KILL_AFTER_BYTES.
 * @throws when the command ends by itself first or the deadline passes.
 */
async function killMidway(args: readonly string[], progress: () => Promise<number>): Promise<void> {
  const child = spawn(process.execPath, [FOS_BIN, ...args], { env: { ...process.env, ...fx.env }, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`fos ${args.join(' ')} finished before it could be killed`);
      if ((await progress()) >= KILL_AFTER_BYTES) break;
      if (Date.now() > deadline) throw new Error('the transfer made no progress in time');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    await exited;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** `bytes` of the server's last `operation` log record for `op` on `path`. */
function lastOperationBytes(op: string, path: string): number | undefined {
  const records = fx.server.logRecords().filter((r) => r['msg'] === 'operation' && r['op'] === op && r['path'] === path);
  const bytes = records.at(-1)?.['bytes'];
  return typeof bytes === 'number' ? bytes : undefined;
}

describe('interrupted transfers', () => {
  it('an upload killed halfway resumes from what the server kept', async () => {
    const partsDir = join(fx.server.dataDir, 'tmp');
    await killMidway(['upload', source, '--to', 'up', '--quiet'], async () => (await sizeOfMatch(partsDir, (n) => n.endsWith('.part')))?.size ?? 0);
    const kept = (await sizeOfMatch(partsDir, (n) => n.endsWith('.part')))?.size ?? 0;
    expect(kept).toBeGreaterThanOrEqual(KILL_AFTER_BYTES);

    const again = await fx.fos(['upload', source, '--to', 'up', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual([expect.objectContaining({ path: 'up/big.bin', size: SIZE, sha256: sourceSha })]);
    const sent = lastOperationBytes('upload', 'up/big.bin');
    expect(sent).toBeDefined();
    expect(sent).toBeLessThanOrEqual(SIZE - kept);
  });

  it('a download killed halfway resumes from its temporary file, and only the complete file gets the name', async () => {
    const out = join(fx.dir, 'out');
    const isTemp = (name: string): boolean => name.startsWith('.fos-tmp-big.bin.') && name.endsWith('.part');
    await killMidway(['download', 'up/big.bin', '--out', out, '--quiet', '--jobs', '1'], async () => (await sizeOfMatch(out, isTemp))?.size ?? 0);
    await expect(stat(join(out, 'big.bin'))).rejects.toThrow(/ENOENT/);
    const temp = await sizeOfMatch(out, isTemp);
    expect(temp).not.toBeNull();
    const kept = temp?.size ?? 0;
    expect(kept).toBeGreaterThanOrEqual(KILL_AFTER_BYTES);
    expect(kept).toBeLessThan(SIZE);

    const again = await fx.fos(['download', 'up/big.bin', '--out', out, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(await sha256Of(join(out, 'big.bin'))).toBe(sourceSha);
    expect(await sizeOfMatch(out, isTemp)).toBeNull();
    expect(lastOperationBytes('download', 'up/big.bin')).toBe(SIZE - kept);
  });
});
