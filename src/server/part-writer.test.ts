import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFs, withWriteFault } from '../fs/fs.js';
import { PartWriter } from './part-writer.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fos-part-writer-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('PartWriter', () => {
  it('writes overlapping calls in call order and hashes a resumed prefix', async () => {
    const path = join(dir, 'a.part');
    const first = await PartWriter.open(path, nodeFs, false);
    await Promise.all(['ab', 'cd', 'ef'].map((text) => first.write(Buffer.from(text))));
    expect(first.bytesWritten).toBe(6);
    await first.close();
    const second = await PartWriter.open(path, nodeFs, true);
    expect(second.bytesWritten).toBe(6);
    const writes = [second.write(Buffer.from('gh')), second.write(Buffer.from('ij'))];
    expect(second.bytesQueued).toBe(10);
    await Promise.all(writes);
    expect(await second.finish()).toBe(sha('abcdefghij'));
    expect(await readFile(path, 'utf8')).toBe('abcdefghij');
  });

  it('fails every queued write after a full disk, and finish with it', async () => {
    const fs = withWriteFault(nodeFs, { afterBytes: 3 });
    const writer = await PartWriter.open(join(dir, 'b.part'), fs, false);
    const results = await Promise.allSettled([writer.write(Buffer.from('12')), writer.write(Buffer.from('34')), writer.write(Buffer.from('56'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code?: string }).code] : []));
    expect(codes).toEqual(['FOS_ERR_STORE_NO_SPACE', 'FOS_ERR_STORE_NO_SPACE']);
    await expect(writer.finish()).rejects.toMatchObject({ code: 'FOS_ERR_STORE_NO_SPACE' });
  });
});
