/**
 * Items gathered during one turn of the event loop and handed over together at its end.
 *
 * The cluster's ports coalesce requests that the same moment produces (the answers to one
 * fetched batch of records): appends for one repo node, presence lookups, offset commits,
 * offset reads. Each gathers its items here and gets them back in one `flush` once the turn's
 * I/O callbacks and microtasks have run (`setImmediate`: no timer, no added latency worth the
 * name). `flush` must not throw: it owns the items' promises.
 */
export class TurnBatch<T> {
  private items: T[] = [];

  constructor(private readonly flush: (items: T[]) => void) {}

  add(item: T): void {
    this.items.push(item);
    if (this.items.length > 1) return;
    setImmediate(() => {
      const items = this.items;
      this.items = [];
      this.flush(items);
    });
  }
}
