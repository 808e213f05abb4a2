/**
 * The conversation actor's de-duplication memory: which (sender, client id) pairs it has
 * stored recently, and which it is writing now. A re-send found here is answered without a
 * database read; anything older is caught by the database's unique key (see send-pipeline.ts),
 * which stays the ground truth: this memory is only a cache, and its size
 * (`actors.dedupeWindow`, 32 by default) trades memory per active conversation for the store
 * lookups of re-sends that arrive after that many newer messages, which clients rarely do.
 *
 * An entry keeps the key and what an ack needs (seq and time), nothing of the message. Both
 * maps are made on first use and the pending one is let go whenever it empties, so an idle
 * conversation holds neither hash table while it has nothing to remember.
 *
 * Both maps are keyed by `sendKey(from, clientId)`, computed once per send by the caller.
 */
import type { MessageRow } from '../../transport/store/port.js';
import type { ConnAddress, SendRecord } from '../records/types.js';
import type { Context } from '../runtime/tracing.js';

/** What a send became once stored: enough to ack a re-send of it (an ack carries seq and time). */
export type StoredSend = Pick<MessageRow, 'seq' | 'ts'>;

/** A send accepted for writing and not yet durable. */
export interface PendingSend {
  record: SendRecord;
  done: () => void;
  /** The context of the send's `conversation.send` span, when traced (runtime/tracing.ts). */
  trace?: Context;
  /** Re-sends of the same client id that arrived while this one was pending. */
  waiters: Array<{ origin: ConnAddress; done: () => void }>;
}

const KEY_SEP = '\u0000';

/** The key of a send in this memory: sender + NUL + client id. */
export function sendKey(from: string, clientId: string): string {
  return from + KEY_SEP + clientId;
}

export class RecentSends {
  /** key → stored send, most recent last (an LRU by insertion); null until the first. */
  private recent: Map<string, StoredSend> | null = null;
  /** Sends accepted but not yet durable, by key; null while there is none. */
  private pendingByKey: Map<string, PendingSend> | null = null;

  /** @param capacity how many stored sends are remembered at most (0: none, storage answers). */
  constructor(private readonly capacity: number) {}

  /** The stored message of a recent send with this key, if still remembered. */
  storedFor(key: string): StoredSend | undefined {
    return this.recent?.get(key);
  }

  /** The send with this key being written now, if any. */
  pendingFor(key: string): PendingSend | undefined {
    return this.pendingByKey?.get(key);
  }

  /** Marks a send accepted for writing; later re-sends of its key wait on it. */
  addPending(key: string, pending: PendingSend): void {
    (this.pendingByKey ??= new Map()).set(key, pending);
  }

  /** The send of `key` is durable as `row` (stored now or found stored): remember it. */
  settle(key: string, row: StoredSend): void {
    this.drop(key);
    if (this.capacity === 0) return;
    const recent = (this.recent ??= new Map());
    recent.delete(key);
    recent.set(key, { seq: row.seq, ts: row.ts });
    if (recent.size > this.capacity) {
      const oldest = recent.keys().next();
      if (oldest.done !== true) recent.delete(oldest.value);
    }
  }

  /** The send of `key` is no longer pending (settled, or refused for good: nothing is remembered). */
  drop(key: string): void {
    const pending = this.pendingByKey;
    if (pending === null) return;
    pending.delete(key);
    if (pending.size === 0) this.pendingByKey = null;
  }
}
