/**
 * One FOS/2 connection after the dispatcher saw `HELLO `: negotiation, login, then one
 * request at a time until QUIT, a close, a timeout or a framing violation. Every failed
 * request is an `ERR` with a stable code and the connection goes on; unknown errors are
 * INTERNAL on the wire and logged in full here.
 */
import type { Socket } from 'node:net';
import { FosError, asFosError } from '../errors.js';
import { COMPRESSION, MAX_FRAME_BYTES, MAX_REQUEST_LINE_BYTES, PROTOCOL_VERSION, REPLY, REQUEST } from '../protocol/constants.js';
import type { Message } from '../protocol/frame-decoder.js';
import { decodeRequest, errorReplyBody } from '../protocol/messages.js';
import type { Request } from '../protocol/messages.js';
import type { Logger } from '../log/logger.js';
import { login } from './login.js';
import type { LoggedIn } from './login.js';
import { negotiate } from './hello.js';
import { runRequest } from './requests.js';
import type { Negotiated, OpContext, ServerServices, SessionHandle } from './session-types.js';
import { Wire } from './wire.js';

/** Codes after which the stream cannot be trusted or the peer is gone: answer, then close. */
const FATAL_CODES: ReadonlySet<string> = new Set([
  'FOS_ERR_PROTO_LINE_TOO_LONG',
  'FOS_ERR_PROTO_FRAME_TOO_LARGE',
  'FOS_ERR_PROTO_TIMEOUT',
  'FOS_ERR_NET_CLOSED',
]);

/** What a FOS/2 session starts from. */
export interface Fos2SessionOptions {
  readonly services: ServerServices;
  readonly socket: Socket;
  /** Bytes the dispatcher already read (they start with `HELLO `). */
  readonly firstBytes: Buffer;
  /** `ip:port` of the peer. */
  readonly remote: string;
  readonly ip: string;
  /** The connection's logger. */
  readonly log: Logger;
}

/** Starts a FOS/2 session on a socket. */
export function startFos2Session(options: Fos2SessionOptions): SessionHandle {
  return new Fos2Session(options);
}

class Fos2Session implements SessionHandle {
  readonly done: Promise<void>;
  readonly #options: Fos2SessionOptions;
  readonly #wire: Wire;
  readonly #startedAt: number;
  #log: Logger;
  #busy = false;
  #shuttingDown = false;

  constructor(options: Fos2SessionOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#startedAt = Date.now();
    const settings = options.services.settings;
    this.#wire = new Wire(
      options.socket,
      {
        limits: { maxLineBytes: MAX_REQUEST_LINE_BYTES, maxFrameBytes: MAX_FRAME_BYTES },
        maxQueuedBytes: settings.windowBytes + MAX_FRAME_BYTES,
      },
      options.firstBytes,
    );
    this.done = this.#run()
      .catch((err: unknown) => {
        this.#log.error({ err }, 'session failed');
      })
      .finally(() => this.#wire.destroy());
  }

  get isBusy(): boolean {
    return this.#busy;
  }

  onShutdown(graceMs: number): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#wire.sendLine(REPLY.shutdown, { graceMs });
  }

  async close(): Promise<void> {
    // After the grace period a transfer still running is cut at once (an upload stays
    // resumable); an idle connection is ended cleanly so the peer reads what was sent.
    if (this.#busy) await this.#wire.destroy();
    else await this.#wire.close();
    await this.done;
  }

  async #run(): Promise<void> {
    const negotiated = await this.#hello();
    if (negotiated === null) return;
    const session = await this.#login();
    if (session === null) return;
    this.#log = this.#log.child({ user: session.user });
    const ctx: OpContext = {
      services: this.#options.services,
      wire: this.#wire,
      user: session.user,
      tokenId: session.tokenId,
      negotiated,
      log: this.#log,
    };
    await this.#serve(ctx);
  }

  /** Reads HELLO and answers with the agreed parameters; null when the connection ends. */
  async #hello(): Promise<Negotiated | null> {
    const { settings } = this.#options.services;
    const message = await this.#read(this.#authLeftMs());
    if (message === null) return null;
    try {
      const request = this.#decode(message);
      if (request.verb !== REQUEST.hello) throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'the first message must be HELLO');
      const negotiated = negotiate(request.args, settings);
      this.#wire.sendLine(REPLY.hello, {
        version: PROTOCOL_VERSION,
        server: settings.serverName,
        chunkBytes: negotiated.chunkBytes,
        windowBytes: negotiated.windowBytes,
        compress: [...(negotiated.brotli ? [COMPRESSION.brotli] : []), ...(negotiated.gzip ? [COMPRESSION.gzip] : [])],
        features: negotiated.features,
      });
      return negotiated;
    } catch (err) {
      await this.#fail(asFosError(err));
      return null;
    }
  }

  /** Reads AUTH; a failure is answered and closes the connection (null). */
  async #login(): Promise<LoggedIn | null> {
    const message = await this.#read(this.#authLeftMs());
    if (message === null) return null;
    try {
      const request = this.#decode(message);
      if (request.verb !== REQUEST.auth) throw new FosError('FOS_ERR_AUTH_FAILED', 'log in first: send AUTH');
      const session = await login(this.#options.services, request.args, this.#options.ip);
      this.#wire.sendLine(REPLY.authOk, { user: session.user });
      this.#log.info({ user: session.user, method: session.tokenId === null ? 'password' : 'token' }, 'logged in');
      return session;
    } catch (err) {
      const error = asFosError(err);
      this.#log.info({ code: error.code }, 'login refused');
      await this.#fail(error);
      return null;
    }
  }

  async #serve(ctx: OpContext): Promise<void> {
    const { settings } = this.#options.services;
    for (;;) {
      const message = await this.#read(settings.idleTimeoutMs);
      if (message === null) return;
      // Acknowledgements of a download's last frames may arrive after its EOF.
      if (message.kind === 'line' && message.head === REPLY.ack) continue;
      let request: Request;
      try {
        request = this.#decode(message);
        if (this.#shuttingDown) throw new FosError('FOS_ERR_PROTO_SHUTTING_DOWN', 'the server is shutting down');
        if (request.verb === REQUEST.hello || request.verb === REQUEST.auth) {
          throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', `${request.verb} is only allowed once, at the start`);
        }
        // Over the per-user operation rate: RATE_LIMITED with retryMs, and the connection goes on.
        await this.#options.services.opLimiter?.take(ctx.user);
      } catch (err) {
        this.#wire.sendLine(REPLY.err, errorReplyBody(asFosError(err)));
        continue;
      }
      this.#busy = request.verb !== REQUEST.watch;
      try {
        const outcome = await runRequest(ctx, request);
        if (outcome.close === true) {
          await this.#wire.close();
          return;
        }
      } finally {
        this.#busy = false;
      }
    }
  }

  /** The next message; on a timeout, a framing violation or a close: answered, and null. */
  async #read(timeoutMs: number): Promise<Message | null> {
    try {
      return await this.#wire.next(timeoutMs);
    } catch (err) {
      const error = asFosError(err);
      if (!FATAL_CODES.has(error.code)) throw err;
      if (error.code !== 'FOS_ERR_NET_CLOSED') {
        this.#log.info({ code: error.code }, 'connection dropped');
        await this.#fail(error);
      }
      return null;
    }
  }

  #decode(message: Message): Request {
    if (message.kind === 'bad') throw message.error;
    if (message.kind === 'data') throw new FosError('FOS_ERR_PROTO_BAD_REQUEST', 'a data frame outside a transfer');
    return decodeRequest(message);
  }

  /** Answers ERR and closes. */
  async #fail(error: FosError): Promise<void> {
    this.#wire.sendLine(REPLY.err, errorReplyBody(error));
    await this.#wire.close();
  }

  #authLeftMs(): number {
    return Math.max(1, this.#startedAt + this.#options.services.settings.authTimeoutMs - Date.now());
  }
}
