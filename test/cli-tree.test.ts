/**
 * Issue 4, "Done when" 2: a tree of 1,000 files in nested folders goes up with `upload -r`
 * and comes back with `download -r` byte-identical, with file mtimes kept and empty
 * folders present.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, startCliFixture } from './cli-support.js';
import type { CliFixture } from './cli-support.js';

const BASE_MTIME_MS = Date.UTC(2023, 5, 1, 8, 0, 0, 0);

let fx: CliFixture;

beforeAll(async () => {
  fx = await startCliFixture();
});

afterAll(async () => {
  await fx.dispose();
});

/** Every file and folder below `root`, as sorted relative paths (folders end in '/'). */
async function treeOf(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const child of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, child.name);
      if (child.isDirectory()) {
        out.push(`${relative(root, path)}/`);
        await walk(path);
      } else {
        out.push(relative(root, path));
      }
    }
  };
  await walk(root);
  return out.sort();
}

describe('recursive transfers', () => {
  it('1,000 files in nested folders round-trip byte-identical with mtimes', async () => {
    const source = join(fx.dir, 'tree');
    let n = 0;
    for (let a = 0; a < 10; a += 1) {
      for (let b = 0; b < 10; b += 1) {
        const folder = join(source, `dir ${a}`, `sub-${b}`);
        await mkdir(folder, { recursive: true });
        for (let c = 0; c < 10; c += 1) {
          const file = join(folder, `file-${c}.bin`);
          // Sizes from empty to a few chunks' worth of small pieces; one content is "EOF".
          await writeFile(file, n === 7 ? 'EOF' : randomBytes((n * 7919) % 3001));
          const mtime = BASE_MTIME_MS + n * 1_001;
          await utimes(file, mtime / 1000, mtime / 1000);
          n += 1;
        }
      }
    }
    await mkdir(join(source, 'empty', 'deeper'), { recursive: true });
    expect(n).toBe(1000);

    const up = await fx.fos(['upload', '-r', source, '--to', 'backup', '--json', '--jobs', '8']);
    expect(up.code, up.stderr).toBe(0);
    const uploaded = parseJson(up) as { kind: string }[];
    expect(uploaded.filter((e) => e.kind === 'file')).toHaveLength(1000);

    const listed = parseJson(await fx.fos(['list', '-R', 'backup', '--json'])) as { path: string; kind: string }[];
    expect(listed.filter((e) => e.kind === 'file')).toHaveLength(1000);
    expect(listed.map((e) => e.path)).toContain('backup/tree/empty/deeper');

    const out = join(fx.dir, 'restore');
    const down = await fx.fos(['download', '-r', 'backup/tree', '--out', out, '--quiet', '--jobs', '8']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toBe('');

    const restored = join(out, 'tree');
    const expected = await treeOf(source);
    expect(await treeOf(restored)).toEqual(expected);
    for (const path of expected.filter((p) => !p.endsWith('/'))) {
      const [original, copy] = await Promise.all([readFile(join(source, path)), readFile(join(restored, path))]);
      expect(copy.equals(original), path).toBe(true);
      const [a, b] = await Promise.all([stat(join(source, path)), stat(join(restored, path))]);
      expect(Math.round(b.mtimeMs), path).toBe(Math.round(a.mtimeMs));
    }
    // No temporary file is left behind.
    expect(expected.some((p) => p.includes('.fos-tmp-'))).toBe(false);
    expect((await treeOf(restored)).some((p) => p.includes('.fos-tmp-'))).toBe(false);
  });
});
