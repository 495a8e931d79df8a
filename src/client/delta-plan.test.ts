import { describe, expect, it } from 'vitest';
import { DELTA_BLOCK_BYTES, MAX_DELTA_BLOCKS } from '../protocol/constants.js';
import { deltaBlockBytes, planDelta, sentBytes } from './delta-plan.js';

describe('planDelta', () => {
  it('copies unchanged blocks and sends the changed one, merging neighbours', () => {
    const base = { size: 10 * 4 + 3, blocks: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'] };
    const local = { size: base.size, blocks: ['a', 'b', 'c', 'd', 'X', 'f', 'g', 'h', 'i', 'j', 'k'] };
    const plan = planDelta(local, base, 4);
    expect(plan).toEqual([
      { isCopy: true, offset: 0, length: 16 },
      { isCopy: false, offset: 16, length: 4 },
      { isCopy: true, offset: 20, length: 23 },
    ]);
    expect(sentBytes(plan)).toBe(4);
  });

  it('sends what lies past the base, and a last block whose length differs', () => {
    const base = { size: 10, blocks: ['a', 'b', 'c'] };
    const local = { size: 14, blocks: ['a', 'b', 'c', 'd'] };
    expect(planDelta(local, base, 4)).toEqual([
      { isCopy: true, offset: 0, length: 8 },
      { isCopy: false, offset: 8, length: 6 },
    ]);
  });

  it('covers an empty file with nothing', () => {
    expect(planDelta({ size: 0, blocks: [] }, { size: 5, blocks: ['a'] }, 4)).toEqual([]);
  });
});

describe('deltaBlockBytes', () => {
  it('keeps the smallest block until the count would pass the limit', () => {
    expect(deltaBlockBytes(0)).toBe(DELTA_BLOCK_BYTES);
    expect(deltaBlockBytes(MAX_DELTA_BLOCKS * DELTA_BLOCK_BYTES)).toBe(DELTA_BLOCK_BYTES);
    expect(deltaBlockBytes(MAX_DELTA_BLOCKS * DELTA_BLOCK_BYTES + 1)).toBe(2 * DELTA_BLOCK_BYTES);
  });
});
