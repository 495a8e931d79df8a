/**
 * Change notices: storage publishes each commit, WATCH sessions subscribe per user. The
 * in-process hub serves one node; the interface is small so that Redis or PostgreSQL
 * LISTEN/NOTIFY can carry notices between nodes instead (DESIGN.md "Growing past one machine").
 */

/** One commit for a user: its revision and the paths it touched. */
export interface ChangeNotice {
  readonly rev: number;
  readonly paths: readonly string[];
}

/** Receives notices for one user. */
export type NoticeListener = (notice: ChangeNotice) => void;

/** Publish/subscribe of change notices per user. */
export interface WatchHub {
  publish(user: string, rev: number, paths: readonly string[]): void;
  /** Returns the function that unsubscribes (idempotent). */
  subscribe(user: string, listener: NoticeListener): () => void;
}

/** A hub inside this process. A listener that throws does not stop the others. */
export function createMemoryWatchHub(onListenerError: (err: unknown) => void = () => undefined): WatchHub {
  const listeners = new Map<string, Set<NoticeListener>>();
  return {
    publish(user, rev, paths) {
      const set = listeners.get(user);
      if (set === undefined) return;
      const notice: ChangeNotice = Object.freeze({ rev, paths: Object.freeze([...paths]) });
      for (const listener of [...set]) {
        try {
          listener(notice);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    subscribe(user, listener) {
      let set = listeners.get(user);
      if (set === undefined) {
        set = new Set();
        listeners.set(user, set);
      }
      set.add(listener);
      return () => {
        const current = listeners.get(user);
        if (current === undefined) return;
        current.delete(listener);
        if (current.size === 0) listeners.delete(user);
      };
    },
  };
}
