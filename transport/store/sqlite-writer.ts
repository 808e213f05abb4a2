/**
 * The main thread's end of the SQLite write thread (sqlite-write-thread.ts): sends each write
 * there and settles its promise with the answer.
 *
 * Supervision: if the thread dies (a native crash, an uncaught error, a failed open), every
 * write it held is refused with `unavailable` (retriable: the caller's retry, or the record's,
 * runs it again; a write that had committed before the thread died then finds its rows there,
 * as after a lost connection), and the next write starts a fresh thread on the same file.
 * `restarts` counts those fresh starts.
 *
 * The thread keeps the process alive only while writes are in flight, so a store nobody closed
 * never holds a finished process open, and no write in flight is ever dropped by an exit.
 */
import type { Worker } from 'node:worker_threads';
import { TroupeError } from '../errors.js';
import type { Fence } from './port.js';
import { startThread, threadEntry } from './start-thread.js';
import { fromWireError, type ThreadReply, type ThreadRequest, type WireError, type WriteMethod } from './sqlite-write-protocol.js';

export interface SqliteWriterOptions {
  filename: string;
  busyTimeoutMs: number;
  /** Pages of WAL after which a commit checkpoints (sqlite-open.ts); on the write thread only. */
  walAutocheckpointPages: number;
  /** The thread's entry module; specs pass one that fails on cue. Default: sqlite-write-thread. */
  threadEntry?: URL;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

const DEFAULT_ENTRY = threadEntry('sqlite-write-thread');

export class SqliteWriter {
  private thread: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Fresh threads started after the first one died. */
  restarts = 0;

  private constructor(private readonly options: SqliteWriterOptions) {}

  /** Starts the thread and opens the file there; rejects with the open's error. */
  static async start(options: SqliteWriterOptions): Promise<SqliteWriter> {
    const writer = new SqliteWriter(options);
    await new Promise<void>((resolve, reject) => writer.spawn({ resolve: () => resolve(), reject }));
    return writer;
  }

  /** Runs `method(...args)` of the database store, fenced by `bound`, on the write thread. */
  write(method: WriteMethod, args: unknown[], bound: readonly Fence[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new TroupeError('closed', `${method}: the store is closed`));
    const thread = this.thread ?? this.respawn();
    const id = this.nextId++;
    if (this.pending.size === 0) thread.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(thread, { type: 'write', id, method, args, bound: bound.map((f) => ({ unit: f.unit, epoch: f.epoch })) });
    });
  }

  /** Lets the writes in flight finish, then closes the thread's connection and the thread. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    if (thread === null) return;
    thread.ref();
    await new Promise<void>((resolve) => {
      thread.once('exit', () => resolve());
      this.send(thread, { type: 'close' });
    });
  }

  private respawn(): Worker {
    this.restarts++;
    // The open's outcome arrives before any write's: a failed open refuses them all below.
    return this.spawn({ resolve: () => undefined, reject: () => undefined });
  }

  private spawn(opened: Pending): Worker {
    const thread = startThread(this.options.threadEntry ?? DEFAULT_ENTRY);
    this.thread = thread;
    thread.on('message', (reply: ThreadReply) => this.onReply(thread, reply, opened));
    thread.on('error', (err) => this.onStopped(thread, `failed: ${err.message}`, opened));
    thread.on('exit', (code) => this.onStopped(thread, `exited with code ${code}`, opened));
    thread.unref();
    this.send(thread, {
      type: 'open',
      filename: this.options.filename,
      busyTimeoutMs: this.options.busyTimeoutMs,
      walAutocheckpointPages: this.options.walAutocheckpointPages,
    });
    return thread;
  }

  private send(thread: Worker, request: ThreadRequest): void {
    thread.postMessage(request);
  }

  private onReply(thread: Worker, reply: ThreadReply, opened: Pending): void {
    switch (reply.type) {
      case 'opened':
        opened.resolve(undefined);
        return;
      case 'open_failed':
        opened.reject(fromWireError(reply.error));
        this.refuseAll(reply.error);
        this.forget(thread);
        void thread.terminate();
        return;
      case 'done':
        this.settle(reply.id)?.resolve(reply.value);
        return;
      case 'failed':
        this.settle(reply.id)?.reject(fromWireError(reply.error));
        return;
      case 'closed':
        return;
    }
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0 && !this.closed) this.thread?.unref();
    return p;
  }

  private onStopped(thread: Worker, how: string, opened: Pending): void {
    if (this.thread !== thread) return;
    this.forget(thread);
    const error: WireError = { code: 'unavailable', message: `sqlite write thread ${how}`, retriable: true };
    opened.reject(fromWireError(error));
    this.refuseAll(error);
  }

  private forget(thread: Worker): void {
    if (this.thread === thread) this.thread = null;
  }

  private refuseAll(error: WireError): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(fromWireError(error));
  }
}
