/**
 * The messages a connection has received and not yet read, and the one reader waiting
 * for the next: a queue, a waiter, an idle timeout on the injected clock, and the failure
 * that ends it all.
 */
import type { FosError } from '../errors.js';
import type { Message } from '../protocol/frame-decoder.js';
import { abortError } from './clock.js';
import type { Clock } from './types.js';

interface Waiter {
  readonly resolve: (message: Message) => void;
  readonly reject: (err: FosError) => void;
}

/** What a wait needs besides the inbox itself. */
export interface InboxWait {
  readonly signal?: AbortSignal | undefined;
  /** Milliseconds of silence before `onIdle` decides; undefined waits forever. */
  readonly idleMs?: number | undefined;
  /** Called when the wait timed out or was aborted; returns the error to end with. */
  readonly onGiveUp: (err: FosError | 'idle') => FosError;
}

/** A queue of received messages with at most one waiting reader. */
export class Inbox {
  readonly #clock: Clock;
  #queue: Message[] = [];
  #head = 0;
  #waiter: Waiter | null = null;
  #failure: FosError | null = null;
  #lastDataAt: number;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#lastDataAt = clock.now();
  }

  /** The error the inbox ended with, or null. */
  get failure(): FosError | null {
    return this.#failure;
  }

  /** Bytes arrived: the idle timer starts again. */
  touch(): void {
    this.#lastDataAt = this.#clock.now();
  }

  /** Adds a message, or hands it straight to the waiting reader. */
  push(message: Message): void {
    const waiter = this.#waiter;
    if (waiter !== null && this.#head >= this.#queue.length) waiter.resolve(message);
    else this.#queue.push(message);
  }

  /** The next queued message without waiting, or undefined. */
  shift(): Message | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const message = this.#queue[this.#head] as Message;
    this.#head += 1;
    if (this.#head >= this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return message;
  }

  /** Ends the inbox: the waiting reader and every later wait reject with `err`. Keeps the first. */
  fail(err: FosError): FosError {
    this.#failure ??= err;
    this.#waiter?.reject(this.#failure);
    return this.#failure;
  }

  /**
   * Waits for the next message. Queued messages come first, even after a failure.
   * @throws the failure; whatever `onGiveUp` returns after a timeout or an abort.
   */
  next(wait: InboxWait): Promise<Message> {
    const queued = this.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const { signal } = wait;
    if (signal?.aborted === true) return Promise.reject(wait.onGiveUp(abortError(signal)));
    return new Promise<Message>((resolve, reject) => {
      let cancelTimer = (): void => undefined;
      const done = (): void => {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
        this.#waiter = null;
      };
      const onAbort = (): void => {
        done();
        reject(wait.onGiveUp(abortError(signal as AbortSignal)));
      };
      this.#waiter = {
        resolve: (message) => {
          done();
          resolve(message);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      const idleMs = wait.idleMs;
      if (idleMs !== undefined) {
        this.#lastDataAt = this.#clock.now();
        // One timer per wait, re-armed only when it fires early: data that keeps arriving
        // (a large frame in pieces) moves the deadline without a timer per chunk.
        const arm = (ms: number): void => {
          cancelTimer = this.#clock.setTimer(() => {
            const silentMs = this.#clock.now() - this.#lastDataAt;
            if (silentMs < idleMs) arm(idleMs - silentMs);
            else wait.onGiveUp('idle');
          }, ms);
        };
        arm(idleMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
