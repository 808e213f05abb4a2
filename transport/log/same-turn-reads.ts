/**
 * Reads asked for with the same key in the same turn of the event loop share one request.
 *
 * The logic role's lag monitor reads the end offset and the committed offset of each upstream
 * partition every few seconds. Kafka answers both for a whole topic per request, yet asked
 * partition by partition that was two admin requests per partition: 32 requests a round on a
 * node of 16 partitions, enough to be a large part of an idle node's wakeups. Here the reads
 * of one key asked for in the same turn (until `setImmediate`) wait for one request, made after
 * they were all asked, so each sees at least what was there when it asked.
 */
import { TurnBatch } from '../turn-batch.js';

export class SameTurnReads<V> {
  /** The reads asked for in this turn, by key: one request each at the end of the turn. */
  private pending = new Map<string, { resolve(value: V): void; reject(error: unknown): void; promise: Promise<V> }>();
  private readonly turn = new TurnBatch<string>((keys) => {
    const pending = this.pending;
    this.pending = new Map();
    for (const key of keys) {
      const read = pending.get(key)!;
      Promise.resolve()
        .then(() => this.read(key))
        .then(read.resolve, read.reject);
    }
  });

  constructor(private readonly read: (key: string) => Promise<V>) {}

  get(key: string): Promise<V> {
    const waiting = this.pending.get(key);
    if (waiting !== undefined) return waiting.promise;
    let settle!: { resolve(value: V): void; reject(error: unknown): void };
    const promise = new Promise<V>((resolve, reject) => (settle = { resolve, reject }));
    this.pending.set(key, { ...settle, promise });
    this.turn.add(key);
    return promise;
  }
}
