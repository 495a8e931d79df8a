import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { nodeFs, withWriteFault } from './fs.js';
import { BlockHasher, HashingWriter, blockHash, copyFileHashed, sha256File, sha256FileBlocks, sha256Hex } from './hash.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-hash-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function bytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 1) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

describe('sha256File', () => {
  it('hashes empty, small and multi-chunk files', async () => {
    await writeFile(join(dir, 'empty'), '');
    expect(await sha256File(join(dir, 'empty'))).toBe(EMPTY_SHA256);
    await writeFile(join(dir, 'abc'), 'abc');
    expect(await sha256File(join(dir, 'abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const big = bytes(1_000_003);
    await writeFile(join(dir, 'big'), big);
    expect(await sha256File(join(dir, 'big'))).toBe(createHash('sha256').update(big).digest('hex'));
  });

  it('a missing file is PATH_NOT_FOUND', async () => {
    await expect(sha256File(join(dir, 'missing'))).rejects.toMatchObject({ code: 'FOS_ERR_PATH_NOT_FOUND' });
  });

  it('an aborted signal rejects with its reason', async () => {
    await writeFile(join(dir, 'f'), bytes(10));
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(sha256File(join(dir, 'f'), { signal: controller.signal })).rejects.toBe(reason);
  });

  it('an abort during the read stops it', async () => {
    await writeFile(join(dir, 'f'), bytes(8_000_000));
    const controller = new AbortController();
    const pending = sha256File(join(dir, 'f'), { signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(pending).rejects.toThrow('cancelled');
  });

  it('sha256Hex matches for strings and bytes', () => {
    expect(sha256Hex('')).toBe(EMPTY_SHA256);
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(sha256Hex('abc'));
  });
});

describe('HashingWriter', () => {
  it('writes and hashes in one pass', async () => {
    const path = join(dir, 'upload');
    const writer = await HashingWriter.open(path);
    const data = bytes(70_000);
    await writer.write(data.subarray(0, 4096));
    await writer.write(data.subarray(4096));
    expect(writer.sha256).toBeUndefined();
    const digest = await writer.finish();
    expect(digest).toBe(sha256Hex(data));
    expect(await writer.finish()).toBe(digest);
    expect(writer.bytesWritten).toBe(70_000);
    expect(await readFile(path)).toEqual(Buffer.from(data));
    await expect(writer.write(new Uint8Array(1))).rejects.toBeInstanceOf(FosError);
  });

  it('refuses to open an existing file unless resuming', async () => {
    await writeFile(join(dir, 'x'), 'x');
    await expect(HashingWriter.open(join(dir, 'x'))).rejects.toMatchObject({ code: 'FOS_ERR_STORE_WRITE' });
  });

  it('resumes a partial file: the digest covers the old prefix', async () => {
    const path = join(dir, 'partial');
    const data = bytes(10_000);
    const first = await HashingWriter.open(path);
    await first.write(data.subarray(0, 3000));
    await first.close();
    const second = await HashingWriter.open(path, { resume: true });
    expect(second.bytesWritten).toBe(3000);
    await second.write(data.subarray(3000));
    expect(await second.finish()).toBe(sha256Hex(data));
    expect(await sha256File(path)).toBe(sha256Hex(data));
  });

  it('a full disk surfaces as STORE_NO_SPACE', async () => {
    const writer = await HashingWriter.open(join(dir, 'f'), { fs: withWriteFault(nodeFs, { afterBytes: 100 }) });
    await writer.write(new Uint8Array(100));
    await expect(writer.write(new Uint8Array(1))).rejects.toMatchObject({ code: 'FOS_ERR_STORE_NO_SPACE' });
    await writer.close();
  });
});

describe('copyFileHashed', () => {
  it('copies the bytes and reports their size and SHA-256; the source stays', async () => {
    const big = bytes(700_001);
    await writeFile(join(dir, 'src'), big);
    const copied = await copyFileHashed(join(dir, 'src'), join(dir, 'dst'));
    expect(copied).toEqual({ bytes: big.length, sha256: createHash('sha256').update(big).digest('hex') });
    expect(Buffer.compare(await readFile(join(dir, 'dst')), Buffer.from(big))).toBe(0);
    expect((await readFile(join(dir, 'src'))).length).toBe(big.length);
  });

  it('a missing source is PATH_NOT_FOUND and creates nothing', async () => {
    await expect(copyFileHashed(join(dir, 'missing'), join(dir, 'dst'))).rejects.toMatchObject({ code: 'FOS_ERR_PATH_NOT_FOUND' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('never overwrites an existing target', async () => {
    await writeFile(join(dir, 'src'), 'new');
    await writeFile(join(dir, 'dst'), 'old');
    await expect(copyFileHashed(join(dir, 'src'), join(dir, 'dst'))).rejects.toBeInstanceOf(FosError);
    expect(await readFile(join(dir, 'dst'), 'utf8')).toBe('old');
  });

  it('a full disk is STORE_NO_SPACE and leaves no partial copy', async () => {
    await writeFile(join(dir, 'src'), bytes(10_000));
    const fs = withWriteFault(nodeFs, { afterBytes: 100 });
    await expect(copyFileHashed(join(dir, 'src'), join(dir, 'dst'), { fs })).rejects.toMatchObject({ code: 'FOS_ERR_STORE_NO_SPACE' });
    expect(await readdir(dir)).toEqual(['src']);
  });
});

describe('BlockHasher', () => {
  it('gives the same block hashes whatever the pieces, and as blockHash of each block', async () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 31) % 251));
    const whole = new BlockHasher(4096);
    whole.update(data);
    const pieces = new BlockHasher(4096);
    for (let at = 0; at < data.length; at += 777) pieces.update(data.subarray(at, at + 777));
    const expected = [0, 4096, 8192].map((at) => blockHash(data.subarray(at, at + 4096)));
    expect(whole.finish()).toEqual(expected);
    expect(pieces.finish()).toEqual(expected);
    const dir = await mkdtemp(join(tmpdir(), 'fos-blocks-'));
    await writeFile(join(dir, 'f'), data);
    expect(await sha256FileBlocks(join(dir, 'f'), 4096)).toEqual({ sha256: sha256Hex(data), size: data.length, blocks: expected });
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a known hash only for a whole block at a boundary, or the last short one', () => {
    const hasher = new BlockHasher(4);
    expect(hasher.addKnown('a', 4, false)).toBe(true);
    hasher.update(Buffer.from('xy'));
    expect(hasher.addKnown('b', 4, false)).toBe(false);
    hasher.update(Buffer.from('zw'));
    expect(hasher.addKnown('c', 2, false)).toBe(false);
    expect(hasher.addKnown('c', 2, true)).toBe(true);
    expect(hasher.finish()).toEqual(['a', blockHash(Buffer.from('xyzw')), 'c']);
  });
});
