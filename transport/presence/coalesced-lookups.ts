/**
 * A Presence whose lookups issued in the same turn of the event loop go to the backing
 * presence as one lookup.
 *
 * A logic node looks up presence once per message it stores, and the messages of one log fetch
 * are handled together, so their lookups come in bursts. Against Redis each lookup is a round
 * trip that wakes the server and then this process, and on small machines a wakeup costs more
 * CPU than the script (docs/architecture.md, "Where the cluster's CPU goes"). Here the lookups of
 * one turn wait for `setImmediate` (after the turn's I/O callbacks and microtasks, no timer),
 * then leave as one lookup of all their users; each caller gets the entries of its own users.
 *
 * The port's guarantees hold: a lookup is sent after it was asked for, so it sees every entry
 * added before it was asked (and none removed before); a failed lookup rejects every caller in
 * it with the backing presence's error. add, remove, refresh and close go straight through.
 */
import { TurnBatch } from '../turn-batch.js';
import type { Presence, PresenceEntry } from './port.js';

interface Waiter {
  userIds: readonly string[];
  resolve(found: Map<string, PresenceEntry[]>): void;
  reject(error: unknown): void;
}

export class CoalescedLookups implements Presence {
  private readonly waiting = new TurnBatch<Waiter>((waiters) => this.flush(waiters));
  /** Backing lookups made: fewer than the callers' when coalescing works (for specs and metrics). */
  lookupsSent = 0;

  constructor(private readonly inner: Presence) {}

  add(userId: string, entry: PresenceEntry, ttlMs: number): Promise<void> {
    return this.inner.add(userId, entry, ttlMs);
  }

  remove(userId: string, connId: string): Promise<void> {
    return this.inner.remove(userId, connId);
  }

  refresh(entries: Array<{ userId: string; connId: string }>, ttlMs: number): Promise<void> {
    return this.inner.refresh(entries, ttlMs);
  }

  lookup(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>> {
    return new Promise((resolve, reject) => this.waiting.add({ userIds, resolve, reject }));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private flush(waiters: Waiter[]): void {
    if (waiters.length === 1) {
      this.lookupsSent++;
      this.backing(waiters[0]!.userIds).then(waiters[0]!.resolve, waiters[0]!.reject);
      return;
    }
    const users = new Set<string>();
    for (const waiter of waiters) for (const user of waiter.userIds) users.add(user);
    this.lookupsSent++;
    this.backing([...users]).then(
      (found) => {
        for (const waiter of waiters) {
          const own = new Map<string, PresenceEntry[]>();
          for (const user of waiter.userIds) {
            const entries = found.get(user);
            if (entries !== undefined) own.set(user, entries);
          }
          waiter.resolve(own);
        }
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  }

  /** The backing lookup, through a promise: one that throws rejects its callers rather than the flush. */
  private backing(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>> {
    return Promise.resolve().then(() => this.inner.lookup(userIds));
  }
}
