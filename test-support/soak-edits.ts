/**
 * Random edits for the reliability tests and the soak: files created, rewritten, renamed
 * and deleted on a device, in a handful of folders, with sizes from a few bytes to about a
 * megabyte, from a seeded generator so a failing run can be replayed with its seed.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Device, World } from './soak-world.js';

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** What one edit did, for the summary. */
export type EditKind = 'create' | 'rewrite' | 'rename' | 'delete';

const FOLDERS = ['', 'docs', 'docs/deep', 'media', 'notes'];

/** A size: mostly small files, some of 100 KB to 1 MB (so cuts land mid-transfer). */
export function randomSize(random: () => number, maxBytes = 1024 * 1024): number {
  const roll = random();
  if (roll < 0.6) return 1 + Math.floor(random() * 4096);
  if (roll < 0.85) return 4096 + Math.floor(random() * 60_000);
  return Math.min(maxBytes, 100_000 + Math.floor(random() * 900_000));
}

/** Content that no other call returns (random bytes with a unique head). */
export function freshContent(size: number): Buffer {
  const data = randomBytes(Math.max(size, 16));
  return size < 16 ? data.subarray(0, Math.max(1, size)) : data;
}

/** The files (not folders) under a device's folder, by relative path; fos's own left out. */
export async function listFiles(device: Device): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(device.folder, rel), { withFileTypes: true });
    } catch {
      // The folder changed under the walk (a sync moved it): what was seen is enough.
      return;
    }
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (path === '.fos' || entry.name.startsWith('.fos-tmp-')) continue;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  await walk('');
  return out.sort();
}

/** Makes one random edit on `device`; returns what it did and the bytes it wrote. */
export async function randomEdit(world: World, device: Device, random: () => number, maxBytes?: number): Promise<{ kind: EditKind; bytes: number }> {
  const files = await listFiles(device);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const roll = random();
  if (files.length < 4 || roll < 0.4) {
    const folder = pick(FOLDERS);
    const name = `${device.name}-${Math.floor(random() * 1e9).toString(36)}.bin`;
    const data = freshContent(randomSize(random, maxBytes));
    await world.write(device, folder === '' ? name : `${folder}/${name}`, data);
    return { kind: 'create', bytes: data.length };
  }
  const path = pick(files);
  if (roll < 0.75) {
    const data = freshContent(randomSize(random, maxBytes));
    await world.write(device, path, data);
    return { kind: 'rewrite', bytes: data.length };
  }
  if (roll < 0.87) {
    const target = `${pick(FOLDERS)}/${device.name}-moved-${Math.floor(random() * 1e9).toString(36)}.bin`.replace(/^\//u, '');
    try {
      await mkdir(dirname(join(device.folder, target)), { recursive: true });
      await rename(join(device.folder, path), join(device.folder, target));
    } catch {
      // The file was replaced or removed by a sync in the meantime: no edit this time.
    }
    return { kind: 'rename', bytes: 0 };
  }
  await world.remove(device, path);
  return { kind: 'delete', bytes: 0 };
}
