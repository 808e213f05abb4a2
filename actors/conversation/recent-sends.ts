/**
 * The conversation actor's de-duplication memory: which (sender, client id) pairs it has
 * stored recently, and which it is writing now. A re-send found here is answered without a
 * database read; anything older is caught by the database's unique key (see send-pipeline.ts).
 *
 * Both maps are keyed by `sendKey(from, clientId)`, computed once per send by the caller.
 */
import type { MessageRow } from '../../transport/store/port.js';
import type { ConnAddress, SendRecord } from '../records/types.js';
import type { Context } from '../runtime/tracing.js';

/** What a send became once stored: enough to ack a re-send of it. */
export type StoredSend = Pick<MessageRow, 'seq' | 'ts' | 'id'>;

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
  /** key → stored message, most recent last (an LRU by insertion). */
  private readonly recent = new Map<string, StoredSend>();
  /** Sends accepted but not yet durable, by key. */
  private readonly pendingByKey = new Map<string, PendingSend>();

  /** @param capacity how many stored sends are remembered at most. */
  constructor(private readonly capacity: number) {}

  /** The stored message of a recent send with this key, if still remembered. */
  storedFor(key: string): StoredSend | undefined {
    return this.recent.get(key);
  }

  /** The send with this key being written now, if any. */
  pendingFor(key: string): PendingSend | undefined {
    return this.pendingByKey.get(key);
  }

  /** Marks a send accepted for writing; later re-sends of its key wait on it. */
  addPending(key: string, pending: PendingSend): void {
    this.pendingByKey.set(key, pending);
  }

  /** The send of `key` is durable as `row` (stored now or found stored): remember it. */
  settle(key: string, row: StoredSend): void {
    this.pendingByKey.delete(key);
    this.recent.delete(key);
    this.recent.set(key, { seq: row.seq, ts: row.ts, id: row.id });
    if (this.recent.size > this.capacity) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
  }

  /** The send of `key` was refused for good: it is no longer pending and nothing is remembered. */
  drop(key: string): void {
    this.pendingByKey.delete(key);
  }
}
