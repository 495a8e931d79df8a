/**
 * BLOCKS (feature `delta`): the SHA-256 of each block of a file's current version, so a
 * client can send only the blocks it changed. Taken from the block cache when the upload
 * of that content recorded them, else computed from the file (and then cached); the reply
 * names the revision it describes.
 */
import { FosError } from '../errors.js';
import { blockHash } from '../fs/hash.js';
import { DELTA_BLOCK_BYTES, FEATURE, MAX_DELTA_BLOCKS, REPLY } from '../protocol/constants.js';
import type { RequestArgs } from '../protocol/messages.js';
import type { OpContext, OpResult } from './session-types.js';

/**
 * Answers `OK {rev, size, sha256, blockBytes, blocks}`.
 * @throws FosError `FOS_ERR_PROTO_UNSUPPORTED` (feature not negotiated), `FOS_ERR_PATH_NOT_FOUND`,
 * `FOS_ERR_PROTO_BAD_REQUEST` (a folder, or more than MAX_DELTA_BLOCKS blocks), storage errors.
 */
export async function handleBlocks(ctx: OpContext, args: RequestArgs<'BLOCKS'>): Promise<OpResult> {
  if (!ctx.negotiated.features.includes(FEATURE.delta)) throw new FosError('FOS_ERR_PROTO_UNSUPPORTED', 'BLOCKS needs the delta feature in HELLO');
  const source = await ctx.services.storage.openDownload(ctx.user, args.path, { offset: 0 });
  try {
    const { entry } = source;
    if (Math.ceil(entry.size / args.blockBytes) > MAX_DELTA_BLOCKS) {
      throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `more than ${MAX_DELTA_BLOCKS} blocks of ${args.blockBytes} bytes; ask with larger blocks`);
    }
    const cached = args.blockBytes === DELTA_BLOCK_BYTES ? ctx.services.blockCache?.get(entry.sha256) : undefined;
    if (cached !== undefined) {
      ctx.wire.sendLine(REPLY.ok, { rev: entry.rev, size: entry.size, sha256: entry.sha256, blockBytes: args.blockBytes, blocks: cached });
      return {};
    }
    const blocks: string[] = [];
    for (let block = await source.read(args.blockBytes); block !== null; block = await source.read(args.blockBytes)) {
      blocks.push(blockHash(block));
    }
    if (args.blockBytes === DELTA_BLOCK_BYTES) ctx.services.blockCache?.set(entry.sha256, blocks);
    ctx.wire.sendLine(REPLY.ok, { rev: entry.rev, size: entry.size, sha256: entry.sha256, blockBytes: args.blockBytes, blocks });
    return {};
  } finally {
    await source.close();
  }
}
