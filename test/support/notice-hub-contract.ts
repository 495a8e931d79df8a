/**
 * What every hub that carries change notices between server nodes must do, as one vitest
 * suite: `makeHub` gives a new hub instance (a "node") on a shared transport.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeNotice } from '../../src/server/watch-hub.js';
import type { SharedWatchHub } from '../../src/server/notices/remote-hub.js';

/** Collects notices and waits for them. */
export class Inbox {
  readonly notices: ChangeNotice[] = [];
  readonly #waiters: (() => void)[] = [];

  readonly listener = (notice: ChangeNotice): void => {
    this.notices.push(notice);
    for (const wake of this.#waiters.splice(0)) wake();
  };

  /** Resolves once `count` notices arrived; rejects after `limitMs`. */
  async waitFor(count: number, limitMs = 10_000): Promise<ChangeNotice[]> {
    const deadline = Date.now() + limitMs;
    while (this.notices.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.notices.length} of ${count} notices arrived`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.notices;
  }
}

/** Registers the shared-hub tests under `describe(name)`. */
export function describeSharedHub(name: string, makeHub: () => SharedWatchHub): void {
  describe(`shared notice hub: ${name}`, () => {
    const hubs: SharedWatchHub[] = [];
    const node = (): SharedWatchHub => {
      const hub = makeHub();
      hubs.push(hub);
      return hub;
    };

    afterEach(async () => {
      await Promise.all(hubs.splice(0).map((h) => h.close()));
    });

    it('a notice published on node 1 reaches a subscriber on node 2', async () => {
      const one = node();
      const two = node();
      const inbox = new Inbox();
      two.subscribe('alice', inbox.listener);
      await two.settled();
      one.publish('alice', 42, ['a/b.bin', 'caf\u00e9.txt']);
      expect(await inbox.waitFor(1)).toEqual([{ rev: 42, paths: ['a/b.bin', 'caf\u00e9.txt'] }]);
    });

    it('a node hears its own publish once, at once, and other users’ notices not at all', async () => {
      const one = node();
      const two = node();
      const mine = new Inbox();
      const alice = new Inbox();
      const bob = new Inbox();
      one.subscribe('alice', mine.listener);
      two.subscribe('alice', alice.listener);
      two.subscribe('bob', bob.listener);
      await Promise.all([one.settled(), two.settled()]);
      one.publish('alice', 1, ['x']);
      expect(mine.notices).toEqual([{ rev: 1, paths: ['x'] }]);
      one.publish('bob', 7, ['y']);
      one.publish('alice', 2, ['z']);
      await alice.waitFor(2);
      await bob.waitFor(1);
      expect(alice.notices.map((n) => n.rev)).toEqual([1, 2]);
      expect(bob.notices.map((n) => n.rev)).toEqual([7]);
      // The echo of node 1's own publishes would have come back before bob's notice did.
      expect(mine.notices.map((n) => n.rev)).toEqual([1, 2]);
    });

    it('after unsubscribing, a node no longer hears that user; other listeners still do', async () => {
      const one = node();
      const two = node();
      const first = new Inbox();
      const second = new Inbox();
      const marker = new Inbox();
      const stopFirst = two.subscribe('carol', first.listener);
      two.subscribe('carol', second.listener);
      two.subscribe('dave', marker.listener);
      await two.settled();
      stopFirst();
      stopFirst();
      one.publish('carol', 1, []);
      await second.waitFor(1);
      const stopSecond = two.subscribe('carol', () => undefined);
      stopSecond();
      await two.settled();
      one.publish('carol', 2, []);
      one.publish('dave', 3, []);
      await marker.waitFor(1);
      expect(first.notices).toEqual([]);
      expect(second.notices.map((n) => n.rev)).toEqual([1, 2]);
    });

    it('many nodes all hear one publish', async () => {
      const publisher = node();
      const inboxes = Array.from({ length: 4 }, () => new Inbox());
      const listeners = inboxes.map((inbox) => {
        const hub = node();
        hub.subscribe('erin', inbox.listener);
        return hub;
      });
      await Promise.all(listeners.map((h) => h.settled()));
      publisher.publish('erin', 5, ['p']);
      for (const inbox of inboxes) expect(await inbox.waitFor(1)).toEqual([{ rev: 5, paths: ['p'] }]);
    });

    it('close is idempotent, and a closed hub still delivers locally', async () => {
      const hub = node();
      const inbox = new Inbox();
      hub.subscribe('frank', inbox.listener);
      await hub.close();
      await hub.close();
      hub.publish('frank', 1, []);
      expect(inbox.notices).toHaveLength(1);
    });
  });
}
