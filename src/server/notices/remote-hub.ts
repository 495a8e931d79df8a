/**
 * A WatchHub whose notices also travel between server nodes over a message transport
 * (Redis pub/sub or PostgreSQL LISTEN/NOTIFY). Listeners on this node hear a publish at
 * once, as with the in-process hub; other nodes hear it through the transport. A node
 * listens on a user's channel only while someone on it watches that user.
 */
import { randomBytes } from 'node:crypto';
import { createMemoryWatchHub } from '../watch-hub.js';
import type { NoticeListener, WatchHub } from '../watch-hub.js';
import { decodeNotice, encodeNotice } from './payload.js';

/** What a hub needs from a message system. */
export interface NoticeTransport {
  /** Most bytes one message may carry. */
  readonly maxPayloadBytes: number;
  /** The channel that carries `user`'s notices. */
  channelFor(user: string): string;
  send(channel: string, payload: string): Promise<void>;
  listen(channel: string): Promise<void>;
  unlisten(channel: string): Promise<void>;
  /** Called once, before any listen, with the function that takes incoming messages. */
  onMessage(deliver: (channel: string, payload: string) => void): void;
  /** Idempotent. */
  close(): Promise<void>;
}

/** A WatchHub shared by several nodes. */
export interface SharedWatchHub extends WatchHub {
  /**
   * Resolves once every listen and unlisten asked for so far has reached the transport:
   * from then on, notices that other nodes publish reach this node's listeners.
   */
  settled(): Promise<void>;
  /** Stops listening and closes the transport; idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createSharedHub}. */
export interface SharedHubOptions {
  /** Told when a listener throws or the transport fails; notices are hints, so both are survivable. */
  readonly onError?: (err: unknown) => void;
}

/** Wraps `transport` as a WatchHub. */
export function createSharedHub(transport: NoticeTransport, options: SharedHubOptions = {}): SharedWatchHub {
  const onError = options.onError ?? ((): void => undefined);
  const origin = randomBytes(8).toString('hex');
  const local = createMemoryWatchHub(onError);
  const watchers = new Map<string, number>();
  // Listen and unlisten calls run one after another, so a quick unsubscribe-subscribe
  // cannot leave the channel unlistened.
  let tail: Promise<void> = Promise.resolve();
  // Sends go out one after another: a transport may use several connections (a pool), and
  // other nodes should hear one node's notices in the order of its commits.
  let sending: Promise<void> = Promise.resolve();
  let closing: Promise<void> | undefined;

  const enqueue = (op: () => Promise<void>): void => {
    tail = tail.then(op).catch(onError);
  };

  transport.onMessage((channel, payload) => {
    const message = decodeNotice(payload);
    if (message === null || message.origin === origin) return;
    // A channel carries one user's notices; a message naming another user is not ours.
    if (transport.channelFor(message.user) !== channel) return;
    local.publish(message.user, message.rev, message.paths);
  });

  return {
    publish(user, rev, paths) {
      local.publish(user, rev, paths);
      if (closing !== undefined) return;
      const payload = encodeNotice({ user, rev, paths, origin }, transport.maxPayloadBytes);
      if (payload === null) {
        onError(new Error(`notice for ${JSON.stringify(user)} does not fit in one message`));
        return;
      }
      const channel = transport.channelFor(user);
      sending = sending.then(() => transport.send(channel, payload)).catch(onError);
    },

    subscribe(user, listener: NoticeListener) {
      const unsubscribeLocal = local.subscribe(user, listener);
      const count = watchers.get(user) ?? 0;
      watchers.set(user, count + 1);
      if (count === 0 && closing === undefined) enqueue(() => transport.listen(transport.channelFor(user)));
      let done = false;
      return () => {
        if (done) return;
        done = true;
        unsubscribeLocal();
        const left = (watchers.get(user) ?? 1) - 1;
        if (left > 0) {
          watchers.set(user, left);
          return;
        }
        watchers.delete(user);
        if (closing === undefined) enqueue(() => transport.unlisten(transport.channelFor(user)));
      };
    },

    settled() {
      return tail;
    },

    close() {
      closing ??= Promise.all([tail, sending]).then(() => transport.close());
      return closing;
    },
  };
}
