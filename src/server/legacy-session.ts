/**
 * Legacy mode: the seed's own client (legacy-protocol.md), served on the same port. The
 * connection dispatcher calls `startLegacySession` when a connection's first bytes are
 * not `HELLO `, handing over the socket (paused, greeting already sent) and the bytes it
 * read (the start of the `user:password` login).
 *
 * The session logs in with the same accounts, limiter and bcrypt check as FOS/2, then
 * answers one bare command word at a time (legacy-operations.ts). On shutdown the client
 * gets `SERVER SHUTDOWN` as a message of its own: at once when the session is waiting for
 * a command, after the running operation otherwise (never inside a download's bytes).
 */
import type { Socket } from 'node:net';
import { asFosError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { LEGACY, LEGACY_COMMANDS, isLegacyCommand, parseLegacyCredentials } from '../protocol/legacy.js';
import type { LegacyCommand } from '../protocol/legacy.js';
import { LegacyInbox, LegacyOutbox } from './legacy-io.js';
import { decodeText, isConnectionError, runLegacyOperation } from './legacy-operations.js';
import type { LegacyContext } from './legacy-operations.js';
import { login } from './login.js';
import type { ServerServices, SessionHandle } from './session-types.js';

/** Longest user name and password accepted, as in FOS/2's AUTH. */
const MAX_USER_CHARS = 256;
const MAX_PASSWORD_CHARS = 1024;

/** What a legacy session starts from. */
export interface LegacySessionOptions {
  readonly services: ServerServices;
  /** Paused; the greeting has been sent. Resume it to read on. */
  readonly socket: Socket;
  /** The bytes already read from the peer. */
  readonly firstBytes: Buffer;
  /** `ip:port` of the peer. */
  readonly remote: string;
  readonly ip: string;
  readonly log: Logger;
}

/** Starts a legacy session on a socket. */
export function startLegacySession(options: LegacySessionOptions): SessionHandle {
  return new LegacySession(options);
}

/** A command the client sent, and what followed it in the same read when that can be told apart. */
export interface SplitCommand {
  readonly command: LegacyCommand | null;
  readonly rest: Buffer;
}

/**
 * Reads a command message. The seed's client sends a bare word and waits for the answer;
 * a peer that does not wait may have its next message stuck to the word. That is told
 * apart only where it is unambiguous: another command word, or `FILENAME:` after UPLOAD.
 * Spaces and line endings around a word are ignored (a person typing into netcat).
 */
export function splitLegacyCommand(message: Buffer): SplitCommand {
  const text = decodeText(message);
  if (text === null) return { command: null, rest: Buffer.alloc(0) };
  const word = text.trim();
  if (isLegacyCommand(word)) return { command: word, rest: Buffer.alloc(0) };
  for (const command of LEGACY_COMMANDS) {
    if (!text.startsWith(command)) continue;
    const rest = text.slice(command.length);
    const isNextMessage =
      LEGACY_COMMANDS.some((next) => rest.startsWith(next)) || (command === 'UPLOAD' && rest.startsWith('FILENAME:'));
    if (isNextMessage) return { command, rest: message.subarray(command.length) };
  }
  return { command: null, rest: Buffer.alloc(0) };
}

class LegacySession implements SessionHandle {
  readonly done: Promise<void>;
  readonly #options: LegacySessionOptions;
  readonly #inbox: LegacyInbox;
  readonly #outbox: LegacyOutbox;
  readonly #startedAt = Date.now();
  #log: Logger;
  /** True while a command (or the shutdown notice) is being answered. */
  #isWorking = false;
  #isShuttingDown = false;
  #notice: Promise<void> | null = null;

  constructor(options: LegacySessionOptions) {
    this.#options = options;
    this.#log = options.log.child({ protocol: 'legacy' });
    this.#outbox = new LegacyOutbox(options.socket);
    this.#inbox = new LegacyInbox(options.socket, options.firstBytes);
    this.done = this.#run()
      .catch((err: unknown) => {
        this.#log.error({ err }, 'session failed');
      })
      .finally(async () => {
        await this.#notice;
        await this.#outbox.end();
      });
  }

  get isBusy(): boolean {
    return this.#isWorking;
  }

  onShutdown(): void {
    if (this.#isShuttingDown) return;
    this.#isShuttingDown = true;
    // While a command runs, its loop sends the notice when the answer is complete.
    if (!this.#isWorking) void this.#sendNotice();
  }

  async close(): Promise<void> {
    // After the grace period a transfer still running is cut (an upload is discarded);
    // an idle connection ends after the notice has gone out.
    if (this.#isWorking && this.#notice === null) this.#options.socket.destroy();
    await this.#notice;
    await this.#outbox.end();
    await this.done;
  }

  async #run(): Promise<void> {
    const user = await this.#login();
    if (user === null) return;
    this.#log = this.#log.child({ user });
    const ctx: LegacyContext = { services: this.#options.services, inbox: this.#inbox, outbox: this.#outbox, user, log: this.#log };
    const { idleTimeoutMs } = this.#options.services.settings;
    let isPushedBack = false;
    for (;;) {
      if (this.#isShuttingDown && this.#notice === null) await this.#sendNotice();
      let split: SplitCommand;
      try {
        split = splitLegacyCommand(await this.#inbox.message(idleTimeoutMs, isCommandWord));
      } catch (err) {
        this.#dropped(err);
        return;
      }
      this.#inbox.unshift(split.rest);
      this.#isWorking = true;
      try {
        // A command read from bytes that came stuck to the previous one: its answer
        // follows the previous answer at once, so it gets the pause that keeps them apart.
        if (isPushedBack) await this.#outbox.pause();
        isPushedBack = split.rest.length > 0;
        await this.#answer(ctx, split.command);
      } catch (err) {
        this.#dropped(err);
        return;
      } finally {
        this.#isWorking = false;
      }
    }
  }

  async #answer(ctx: LegacyContext, command: LegacyCommand | null): Promise<void> {
    if (this.#isShuttingDown) {
      await this.#outbox.send(LEGACY.shutdown);
    } else if (command === null) {
      this.#log.debug('invalid command');
      await this.#outbox.send(LEGACY.invalid);
    } else {
      await runLegacyOperation(ctx, command);
    }
  }

  /** Reads `user:password` and checks it; null (after the refusal is sent) when it fails. */
  async #login(): Promise<string | null> {
    const { services, ip } = this.#options;
    let message: Buffer;
    try {
      message = await this.#inbox.message(this.#authLeftMs());
    } catch (err) {
      this.#dropped(err);
      return null;
    }
    const credentials = parseLegacyCredentials(decodeText(message) ?? '');
    // A shutdown notice waits for the answer, so that it is never read as the login's.
    this.#isWorking = true;
    try {
      if (credentials === null || credentials.user.length > MAX_USER_CHARS || credentials.password.length > MAX_PASSWORD_CHARS) {
        services.metrics?.failedLogins.inc();
        this.#log.info({ code: 'FOS_ERR_AUTH_FAILED' }, 'login refused');
      } else {
        const loggedIn = await login(services, { user: credentials.user, password: credentials.password }, ip);
        await this.#outbox.send(LEGACY.authOk);
        this.#log.info({ user: loggedIn.user, method: 'password' }, 'logged in');
        return loggedIn.user;
      }
    } catch (err) {
      if (isConnectionError(err)) {
        this.#dropped(err);
        return null;
      }
      const error = asFosError(err);
      if (error.wireCode === 'INTERNAL') this.#log.error({ err }, 'login failed');
      else this.#log.info({ code: error.code }, 'login refused');
    } finally {
      this.#isWorking = false;
    }
    await this.#outbox.send(LEGACY.authFailed).catch(() => undefined);
    return null;
  }

  /** Sends `SERVER SHUTDOWN` in a read of its own; busy until it has gone out. */
  #sendNotice(): Promise<void> {
    this.#notice ??= (async () => {
      this.#isWorking = true;
      try {
        await this.#outbox.pause();
        await this.#outbox.send(LEGACY.shutdown);
      } catch (err) {
        // The peer is already gone: nobody is left to tell.
        if (!isConnectionError(err)) this.#log.error({ err }, 'shutdown notice failed');
      } finally {
        this.#isWorking = false;
      }
    })();
    return this.#notice;
  }

  /** Logs why the connection ends (a close by the peer is normal). */
  #dropped(err: unknown): void {
    const error = asFosError(err);
    if (!isConnectionError(err)) this.#log.error({ err }, 'session failed');
    else if (error.code !== 'FOS_ERR_NET_CLOSED') this.#log.info({ code: error.code }, 'connection dropped');
  }

  #authLeftMs(): number {
    return Math.max(1, this.#startedAt + this.#options.services.settings.authTimeoutMs - Date.now());
  }
}

/** A command message is complete as soon as it is one of the seed's words. */
function isCommandWord(bytes: Buffer): boolean {
  return isLegacyCommand(bytes.toString('latin1'));
}
