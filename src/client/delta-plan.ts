/**
 * Which parts of a file a delta upload copies from the server's version and which it
 * sends: block by block, a block whose hash the server's version has at the same index
 * (and of the same length) is copied, the rest is sent; neighbours merge into ranges. Pure.
 */
import { DELTA_BLOCK_BYTES, MAX_DELTA_BLOCKS } from '../protocol/constants.js';

/** A stretch of the new file: copied from the base at the same offset, or sent. */
export interface DeltaRange {
  readonly isCopy: boolean;
  readonly offset: number;
  readonly length: number;
}

/** One side's blocks: the file's size and each block's hash, in order. */
export interface BlockList {
  readonly size: number;
  readonly blocks: readonly string[];
}

/** The block size for a file of `size` bytes: DELTA_BLOCK_BYTES, doubled until the count fits. */
export function deltaBlockBytes(size: number): number {
  let blockBytes = DELTA_BLOCK_BYTES;
  while (Math.ceil(size / blockBytes) > MAX_DELTA_BLOCKS) blockBytes *= 2;
  return blockBytes;
}

/** The ranges of `local`, in order, covering it exactly once. */
export function planDelta(local: BlockList, base: BlockList, blockBytes: number): DeltaRange[] {
  const ranges: DeltaRange[] = [];
  for (let index = 0; index < local.blocks.length; index += 1) {
    const offset = index * blockBytes;
    const length = Math.min(blockBytes, local.size - offset);
    const baseLength = Math.min(blockBytes, base.size - offset);
    const isCopy = index < base.blocks.length && length === baseLength && local.blocks[index] === base.blocks[index];
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.isCopy === isCopy) ranges[ranges.length - 1] = { isCopy, offset: last.offset, length: last.length + length };
    else ranges.push({ isCopy, offset, length });
  }
  return ranges;
}

/** Bytes a plan sends as data. */
export function sentBytes(ranges: readonly DeltaRange[]): number {
  return ranges.reduce((sum, range) => (range.isCopy ? sum : sum + range.length), 0);
}
