/**
 * What the SQLite write thread does (sqlite-write-thread.ts is the thread's entry; specs wrap
 * this with a port that fails on cue): every write of embedded mode's store runs here, on the
 * thread's own connection, so the fsync of each commit (`synchronous = FULL`) and the WAL
 * checkpoints never stall the event loop that serves the sockets. It is a plain database store
 * (knex.ts): writes arrive as method calls, run in arrival order on its single connection (knex
 * hands it out first come, first served), and are answered with their values or errors
 * (sqlite-write-protocol.ts).
 */
import { KnexStore } from './knex.js';
import { openSqliteKnex } from './sqlite-open.js';
import { toWireError, type ThreadReply, type ThreadRequest, type WriteRequest } from './sqlite-write-protocol.js';

/** The thread's side of its channel to the main thread (worker_threads' parentPort). */
export interface WritePort {
  on(event: 'message', listener: (request: ThreadRequest) => void): unknown;
  postMessage(reply: ThreadReply): void;
  close(): void;
}

export function serveSqliteWrites(port: WritePort): void {
  /** The store once the file is open (null if the open failed); writes wait for it, in order. */
  let opened: Promise<KnexStore | null> = Promise.resolve(null);
  let inFlight = 0;
  let closing = false;

  const write = (request: WriteRequest): void => {
    inFlight++;
    opened
      .then((store) => {
        if (store === null) throw new Error(`${request.method}: the write thread has no database open`);
        const target = request.bound.length === 0 ? store : store.fencedBy(request.bound);
        const method = target[request.method] as (...args: unknown[]) => Promise<unknown>;
        return method.apply(target, request.args);
      })
      .then(
        (value) => port.postMessage({ type: 'done', id: request.id, value }),
        (err: unknown) => port.postMessage({ type: 'failed', id: request.id, error: toWireError(err) }),
      )
      .finally(() => {
        inFlight--;
        if (closing && inFlight === 0) void close();
      });
  };

  const close = async (): Promise<void> => {
    const store = await opened;
    if (store !== null) await store.close().catch(() => undefined);
    port.postMessage({ type: 'closed' });
    port.close();
  };

  port.on('message', (request) => {
    switch (request.type) {
      case 'open':
        opened = openSqliteKnex(request.filename, { busyTimeoutMs: request.busyTimeoutMs, walAutocheckpointPages: request.walAutocheckpointPages }).then(
          (knex) => {
            port.postMessage({ type: 'opened' });
            return new KnexStore(knex);
          },
          (err: unknown) => {
            port.postMessage({ type: 'open_failed', error: toWireError(err) });
            return null;
          },
        );
        return;
      case 'write':
        write(request);
        return;
      case 'close':
        closing = true;
        if (inFlight === 0) void close();
        return;
    }
  });
}
