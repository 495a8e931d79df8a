import { describe, expect, it } from 'vitest';
import { BlockCache } from './block-cache.js';

describe('BlockCache', () => {
  it('keeps the most recently used contents within its bound of hashes', () => {
    const cache = new BlockCache(5);
    cache.set('a', ['1', '2']);
    cache.set('b', ['3', '4']);
    expect(cache.get('a')).toEqual(['1', '2']);
    cache.set('c', ['5', '6']);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(['1', '2']);
    expect(cache.get('c')).toEqual(['5', '6']);
  });

  it('does not keep a content larger than the bound, and replaces a content set twice', () => {
    const cache = new BlockCache(3);
    cache.set('big', ['1', '2', '3', '4']);
    expect(cache.get('big')).toBeUndefined();
    cache.set('a', ['1']);
    cache.set('a', ['1', '2', '3']);
    expect(cache.get('a')).toEqual(['1', '2', '3']);
  });
});
