/**
 * Runs one FOS/2 request: the handler for its verb, the ERR reply when it throws, one
 * log line and the metrics for the operation.
 */
import { asFosError, isWireCode } from '../errors.js';
import { REPLY, REQUEST } from '../protocol/constants.js';
import type { Request } from '../protocol/messages.js';
import { errorReplyBody } from '../protocol/messages.js';
import { handleRevoke, handleToken, handleTokens } from './account-handlers.js';
import { handleBlocks } from './blocks-handler.js';
import { handleDownload, handlePreview } from './download-handler.js';
import { handleDelete, handleList, handleMkdir, handleMove, handleStat, handleTrash } from './entry-handlers.js';
import { handleApprove, handleHeld, handleHold, handleReject } from './held-handlers.js';
import type { OpContext, OpResult } from './session-types.js';
import { handleRestore } from './restore-handler.js';
import { handleUpload } from './upload-handler.js';
import { handleUploads } from './upload-batch-handler.js';
import { handleWatch } from './watch-handler.js';

/** Runs the request and answers it; never throws for a failed operation. */
export async function runRequest(ctx: OpContext, request: Request): Promise<OpResult> {
  const started = performance.now();
  let outcome: OpResult;
  let result: string;
  try {
    outcome = await dispatch(ctx, request);
    result = outcome.failed ?? 'ok';
  } catch (err) {
    const error = asFosError(err);
    result = error.wireCode;
    if (error.code === 'FOS_ERR_NET_CLOSED') {
      // The peer went away in the middle of the reply: nobody to answer, and nothing failed
      // on this side (a peer must not be able to fill the error log by hanging up).
      outcome = { close: true };
    } else if (result === 'INTERNAL') {
      // The real cause stays in the log; the wire gets a generic message, never a stack.
      ctx.log.error({ err, op: request.verb }, 'operation failed');
      ctx.wire.sendLine(REPLY.err, { code: 'INTERNAL', message: 'internal server error; see the server log' });
      outcome = {};
    } else {
      ctx.wire.sendLine(REPLY.err, errorReplyBody(error));
      outcome = {};
    }
  }
  const ms = Math.round(performance.now() - started);
  const op = request.verb.toLowerCase();
  ctx.log.info({ op, path: pathOf(request), bytes: outcome.bytes, ms, result }, 'operation');
  ctx.services.metrics?.observeOperation(op, isWireCode(result) ? result : 'ok', ms / 1000);
  return outcome;
}

async function dispatch(ctx: OpContext, request: Request): Promise<OpResult> {
  switch (request.verb) {
    case REQUEST.upload:
      return handleUpload(ctx, request.args);
    case REQUEST.blocks:
      return handleBlocks(ctx, request.args);
    case REQUEST.uploads:
      return handleUploads(ctx, request.args);
    case REQUEST.download:
      return handleDownload(ctx, request.args);
    case REQUEST.preview:
      return handlePreview(ctx, request.args);
    case REQUEST.delete:
      return handleDelete(ctx, request.args);
    case REQUEST.mkdir:
      return handleMkdir(ctx, request.args);
    case REQUEST.move:
      return handleMove(ctx, request.args);
    case REQUEST.stat:
      return handleStat(ctx, request.args);
    case REQUEST.list:
      return handleList(ctx, request.args);
    case REQUEST.watch:
      return handleWatch(ctx, request.args);
    case REQUEST.trash:
      return handleTrash(ctx, request.args);
    case REQUEST.restore:
      return handleRestore(ctx, request.args);
    case REQUEST.hold:
      return handleHold(ctx, request.args);
    case REQUEST.held:
      return handleHeld(ctx, request.args);
    case REQUEST.approve:
      return handleApprove(ctx, request.args);
    case REQUEST.reject:
      return handleReject(ctx, request.args);
    case REQUEST.token:
      return handleToken(ctx, request.args);
    case REQUEST.tokens:
      return handleTokens(ctx);
    case REQUEST.revoke:
      return handleRevoke(ctx, request.args);
    case REQUEST.quit:
      ctx.wire.sendLine(REPLY.ok, {});
      return { close: true };
    case REQUEST.hello:
    case REQUEST.auth:
      // The session answers these before a request gets here.
      return { close: true, failed: 'BAD_REQUEST' };
    default: {
      const never: never = request;
      return never;
    }
  }
}

function pathOf(request: Request): string | undefined {
  const args: Readonly<Record<string, unknown>> = request.args;
  const path = args['path'] ?? args['from'] ?? args['id'];
  return typeof path === 'string' ? path : undefined;
}
