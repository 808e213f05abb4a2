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
export class SameTurnReads<V> {
  private pending = new Map<string, Promise<V>>();
  private scheduled = false;

  constructor(private readonly read: (key: string) => Promise<V>) {}

  get(key: string): Promise<V> {
    const waiting = this.pending.get(key);
    if (waiting !== undefined) return waiting;
    const promise = new Promise<V>((resolve, reject) => {
      const start = (): void => void this.read(key).then(resolve, reject);
      this.starts.push(start);
    });
    this.pending.set(key, promise);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        const starts = this.starts;
        this.starts = [];
        this.pending = new Map();
        this.scheduled = false;
        for (const start of starts) start();
      });
    }
    return promise;
  }

  private starts: Array<() => void> = [];
}
