/**
 * The delta block hashes of recent versions, by content SHA-256: an upload records them
 * as its bytes go by (no extra read), so the next `BLOCKS` of that content costs nothing.
 * Bounded by the number of hashes held; the least recently used content goes first.
 * A miss only means BLOCKS reads the file.
 */

/** Default bound: 262,144 hashes (256 GiB of content in 1 MiB blocks, about 20 MB). */
export const DEFAULT_CACHED_BLOCKS = 262_144;

/** Block hashes of contents, most recently used last. */
export class BlockCache {
  readonly #maxBlocks: number;
  readonly #entries = new Map<string, readonly string[]>();
  #blocks = 0;

  constructor(maxBlocks = DEFAULT_CACHED_BLOCKS) {
    this.#maxBlocks = maxBlocks;
  }

  /** The block hashes of the content with this SHA-256, or undefined. */
  get(sha256: string): readonly string[] | undefined {
    const blocks = this.#entries.get(sha256);
    if (blocks !== undefined) {
      this.#entries.delete(sha256);
      this.#entries.set(sha256, blocks);
    }
    return blocks;
  }

  /** Records the block hashes of a content; too many for the bound are not kept. */
  set(sha256: string, blocks: readonly string[]): void {
    if (blocks.length > this.#maxBlocks) return;
    const old = this.#entries.get(sha256);
    if (old !== undefined) {
      this.#entries.delete(sha256);
      this.#blocks -= old.length;
    }
    this.#entries.set(sha256, blocks);
    this.#blocks += blocks.length;
    for (const [key, value] of this.#entries) {
      if (this.#blocks <= this.#maxBlocks) break;
      this.#entries.delete(key);
      this.#blocks -= value.length;
    }
  }
}
