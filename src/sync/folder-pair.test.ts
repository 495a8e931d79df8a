import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectCaseInsensitive } from './folder-pair.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fos-case-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const platformDefault = process.platform === 'darwin' || process.platform === 'win32';

describe('detectCaseInsensitive', () => {
  it('finds a case-sensitive folder case-sensitive, by .fos or by its entries', async () => {
    await writeFile(join(root, 'Notes.txt'), 'n');
    expect(await detectCaseInsensitive(root)).toBe(false);
    await mkdir(join(root, '.fos'));
    expect(await detectCaseInsensitive(root)).toBe(false);
  });

  it('reads one file found under both spellings as a case-insensitive folder', async () => {
    // What a case-folding file system shows: the swapped spelling is the same file.
    await writeFile(join(root, 'Notes.txt'), 'n');
    await link(join(root, 'Notes.txt'), join(root, 'nOTES.TXT'));
    expect(await detectCaseInsensitive(root)).toBe(true);
  });

  it('reads two files under the two spellings as case-sensitive', async () => {
    await writeFile(join(root, 'Readme'), 'one');
    await writeFile(join(root, 'rEADME'), 'two');
    expect(await detectCaseInsensitive(root)).toBe(false);
  });

  it("falls back to the platform's default when nothing has letters to swap, or the folder is missing", async () => {
    await writeFile(join(root, '2026'), 'digits only');
    expect(await detectCaseInsensitive(root)).toBe(platformDefault);
    expect(await detectCaseInsensitive(join(root, 'gone'))).toBe(platformDefault);
  });
});
