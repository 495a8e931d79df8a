/**
 * The FOS/2 requests on a user's device tokens: TOKEN (issue one, shown once), TOKENS
 * (list), REVOKE. Tokens are stored as SHA-256 only.
 */
import { FosError } from '../errors.js';
import { REPLY } from '../protocol/constants.js';
import type { RequestArgs } from '../protocol/messages.js';
import { issueToken } from '../store/accounts.js';
import type { OpContext, OpResult } from './session-types.js';

/** TOKEN. @throws FosError `FOS_ERR_CLI_USAGE` (BAD_REQUEST) for a bad device name. */
export async function handleToken(ctx: OpContext, args: RequestArgs<'TOKEN'>): Promise<OpResult> {
  const { store, clock } = ctx.services;
  const issued = await issueToken(store, ctx.user, args.device, clock.now());
  ctx.log.info({ tokenId: issued.info.id, device: issued.info.device }, 'device token issued');
  ctx.wire.sendLine(REPLY.ok, { token: issued.token, id: issued.info.id });
  return {};
}

/** TOKENS. */
export async function handleTokens(ctx: OpContext): Promise<OpResult> {
  const tokens = await ctx.services.store.listTokens(ctx.user);
  ctx.wire.sendLine(REPLY.ok, { tokens });
  return {};
}

/**
 * REVOKE a token of this user (the one this connection used when no id is given).
 * @throws FosError `FOS_ERR_PROTO_BAD_REQUEST` without an id on a password login,
 * `FOS_ERR_PATH_NOT_FOUND` for an unknown id.
 */
export async function handleRevoke(ctx: OpContext, args: RequestArgs<'REVOKE'>): Promise<OpResult> {
  const id = args.id ?? ctx.tokenId;
  if (id === null) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'this connection logged in with a password: name the token id to revoke');
  const revoked = await ctx.services.store.revokeToken(ctx.user, id);
  if (!revoked) throw new FosError('FOS_ERR_PATH_NOT_FOUND', `no token ${JSON.stringify(id)}`);
  ctx.log.info({ tokenId: id }, 'device token revoked');
  ctx.wire.sendLine(REPLY.ok, {});
  return {};
}
