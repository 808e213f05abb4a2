/**
 * Runs embedded mode's WAL checkpoints on their own thread (sqlite-checkpoint-thread.ts), so
 * that neither the event loop nor the write thread ever stalls while the WAL is copied back
 * into the database file and that file is fsynced (measured: a checkpoint on the write thread
 * held every commit behind it, the tail of the ack latency). A thread that dies is started again
 * after a second; meanwhile the WAL only grows.
 */
import type { Worker } from 'node:worker_threads';
import { startThread, threadEntry } from './start-thread.js';

export interface CheckpointerOptions {
  filename: string;
  /** How often a PASSIVE checkpoint runs. */
  intervalMs: number;
  busyTimeoutMs: number;
  /** WAL frames (pages) from which the thread also restarts the WAL (sqlite-checkpoint-thread.ts). */
  restartFrames: number;
  /** The thread's entry module; specs pass one that fails on cue. Default: sqlite-checkpoint-thread. */
  threadEntry?: URL;
}

const RESTART_AFTER_MS = 1000;

export class SqliteCheckpointer {
  private thread: Worker | null = null;
  private closed = false;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Threads started again after one died. */
  restarts = 0;
  /** Checkpoints run, and those that also started the WAL over (its size is then bounded). */
  checkpoints = 0;
  walResets = 0;
  /** Frames in the WAL at the newest checkpoint. */
  walFrames = 0;

  constructor(private readonly options: CheckpointerOptions) {
    this.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    const thread = this.thread;
    this.thread = null;
    if (thread === null) return;
    await new Promise<void>((resolve) => {
      thread.once('exit', () => resolve());
      thread.postMessage({ type: 'close' });
    });
  }

  private start(): void {
    const { threadEntry: entry, ...data } = this.options;
    const thread = startThread(entry ?? threadEntry('sqlite-checkpoint-thread'), data);
    this.thread = thread;
    thread.unref();
    thread.on('message', (message: { type: string; frames: number; reset: boolean }) => {
      if (message.type !== 'checkpointed') return;
      this.checkpoints++;
      this.walFrames = message.frames;
      if (message.reset) this.walResets++;
    });
    const stopped = (): void => {
      if (this.thread !== thread) return;
      this.thread = null;
      if (this.closed) return;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (this.closed) return;
        this.restarts++;
        this.start();
      }, RESTART_AFTER_MS);
      this.restartTimer.unref();
    };
    thread.on('error', stopped);
    thread.on('exit', stopped);
  }
}
