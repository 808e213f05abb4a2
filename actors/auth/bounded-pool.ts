import { TroupeError } from '../../transport/errors.js';

export interface BoundedPoolOptions {
  /** Jobs running at once at most (at least 1). */
  concurrency: number;
  /** Jobs waiting for a slot at most (0: none wait); a job beyond it is refused. */
  maxQueue: number;
  /** Names the pool in the `unavailable` message, e.g. `password hashing`. */
  name: string;
}

interface Waiter {
  start: () => void;
}

/**
 * Runs async jobs with at most `concurrency` in flight and at most `maxQueue` waiting.
 *
 * Why: some work (argon2) runs on libuv's small shared threadpool; without a bound a burst of
 * logins would occupy every thread (starving file and DNS work) and queue without limit. A
 * job past the queue bound is refused at once with a retriable `unavailable`, so an overload
 * turns into fast 503s instead of ever-growing latency and memory. Waiters start in arrival
 * order.
 */
export class BoundedPool {
  private readonly concurrency: number;
  private readonly maxQueue: number;
  private readonly name: string;
  private active = 0;
  /** FIFO of waiters; `head` avoids the O(n) cost of Array#shift under a long queue. */
  private queue: Array<Waiter | undefined> = [];
  private head = 0;

  constructor(options: BoundedPoolOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new TroupeError('config', `${options.name}: pool size must be an integer of at least 1`);
    }
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 0) {
      throw new TroupeError('config', `${options.name}: max queue must be a non-negative integer`);
    }
    this.concurrency = options.concurrency;
    this.maxQueue = options.maxQueue;
    this.name = options.name;
  }

  /** Jobs running now. */
  get running(): number {
    return this.active;
  }

  /** Jobs waiting for a slot now. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Runs `job` when a slot is free and settles as it does. Rejects with `unavailable`
   * (retriable), without running `job`, when every slot is busy and the queue is full.
   */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.queued >= this.maxQueue) {
        throw new TroupeError('unavailable', `${this.name} is overloaded; try again`, { retriable: true });
      }
      await new Promise<void>((resolve) => {
        this.queue.push({ start: resolve });
      });
      // The slot was handed over by release(): `active` already counts this job.
    } else {
      this.active++;
    }
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private release(): void {
    if (this.head < this.queue.length) {
      const next = this.queue[this.head];
      this.queue[this.head] = undefined; // let the settled waiter be collected
      this.head++;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      next?.start();
      return;
    }
    this.active--;
  }
}
