/**
 * The two ways the cluster makes one request serve many messages, rebuilt without Troupe's code
 * for the hop floor's bare pipeline (bench/floor/hop-peer.ts), so that the floor batches as the
 * cluster does and no better.
 */

interface Waiting<T, R> {
  item: T;
  resolve: (answer: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Everything added during one turn of the event loop goes to `flush` together, once the turn
 * ends; each add resolves with its own answer (`flush` answers in the order given) or rejects
 * with the flush's error. Presence lookups and appends per repo node are batched this way.
 */
export function perTurn<T, R>(flush: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let pending: Array<Waiting<T, R>> = [];
  return (item) =>
    new Promise<R>((resolve, reject) => {
      if (pending.length === 0) {
        setImmediate(() => {
          const batch = pending;
          pending = [];
          flush(batch.map((w) => w.item)).then(
            (answers) => batch.forEach((w, i) => w.resolve(answers[i] as R)),
            (err: unknown) => batch.forEach((w) => w.reject(err)),
          );
        });
      }
      pending.push({ item, resolve, reject });
    });
}

/**
 * One request in flight at a time; everything added while it flies goes out together in the
 * next one (the first waits for the end of its turn, so a turn's adds share a request too). The
 * cluster's idempotent producers send this way.
 */
export function oneInFlight<T>(send: (items: T[]) => Promise<void>): (item: T) => Promise<void> {
  let waiting: Array<Waiting<T, void>> = [];
  let inFlight = false;
  const flush = (): void => {
    if (inFlight || waiting.length === 0) return;
    const sending = waiting;
    waiting = [];
    inFlight = true;
    send(sending.map((w) => w.item))
      .then(
        () => sending.forEach((w) => w.resolve()),
        (err: unknown) => sending.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        inFlight = false;
        flush();
      });
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (waiting.length === 1 && !inFlight) setImmediate(flush);
    });
}
