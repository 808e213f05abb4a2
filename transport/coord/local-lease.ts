/**
 * A lease of the in-process coordinator (local.ts), with real TTL semantics.
 *
 * A keepalive timer (unref'd, so it never holds the process open) renews the lease every third
 * of its TTL. A renewal that comes later than the TTL (the event loop was stalled that long)
 * finds the lease expired, exactly as etcd would have expired it, and the lease is lost: its
 * keys are deleted and `onLost` listeners run. Deadlines use the monotonic clock, so a
 * suspended machine does not lose its leases on resume. In a healthy process a local lease
 * therefore never expires; `LocalCoordinator.expireLease` simulates expiry for tests.
 */
import { performance } from 'node:perf_hooks';
import { TroupeError } from '../errors.js';
import type { Claim, Lease } from './port.js';

/** What a lease asks of its store; implemented by LocalCoordinator. */
export interface LeaseStore {
  claim(lease: LocalLease, key: string, value: string): Claim | null;
  put(lease: LocalLease, key: string, value: string): void;
  release(lease: LocalLease, key: string): void;
  /** Deletes every key of the lease in one revision and forgets the lease. */
  drop(lease: LocalLease): void;
}

type LeaseState = 'live' | 'ended' | 'lost';

export class LocalLease implements Lease {
  /** Keys attached to this lease; maintained by the store. */
  readonly keys = new Set<string>();
  private state: LeaseState = 'live';
  private deadline: number;
  private readonly timer: NodeJS.Timeout;
  private listeners: Array<() => void> = [];

  constructor(
    readonly id: string,
    readonly ttlMs: number,
    private readonly store: LeaseStore,
  ) {
    this.deadline = performance.now() + ttlMs;
    this.timer = setInterval(this.keepAlive, Math.max(1, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  get live(): boolean {
    return this.state === 'live';
  }

  async claim(key: string, value: string): Promise<Claim | null> {
    this.assertLive();
    return this.store.claim(this, key, value);
  }

  async put(key: string, value: string): Promise<void> {
    this.assertLive();
    this.store.put(this, key, value);
  }

  /** Nothing is attached to a lease that ended, so releasing through it is then a no-op. */
  async release(key: string): Promise<void> {
    if (this.state !== 'live') return;
    this.store.release(this, key);
  }

  /** A listener registered after the loss is still called (in a microtask). */
  onLost(listener: () => void): void {
    if (this.state === 'lost') queueMicrotask(listener);
    else if (this.state === 'live') this.listeners.push(listener);
  }

  /** Deletes the lease's keys at once. A deliberate revoke is not a loss: `onLost` is not called. */
  async revoke(): Promise<void> {
    if (this.state !== 'live') return;
    this.end('ended');
  }

  /** The TTL ran out: keys deleted, then every `onLost` listener called once, in a microtask. */
  expire(): void {
    if (this.state !== 'live') return;
    this.end('lost');
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) queueMicrotask(listener);
  }

  /** The store is closing: stops the keepalive without deleting keys or calling `onLost`. */
  shutdown(): void {
    clearInterval(this.timer);
    this.state = 'ended';
    this.listeners = [];
  }

  private end(state: LeaseState): void {
    clearInterval(this.timer);
    this.state = state;
    if (state !== 'lost') this.listeners = [];
    this.store.drop(this);
  }

  private assertLive(): void {
    if (this.state === 'live' && performance.now() > this.deadline) this.expire();
    if (this.state !== 'live') {
      const why = this.state === 'lost' ? 'was lost' : 'was revoked or its coordinator closed';
      throw new TroupeError('closed', `lease ${this.id} ${why}`);
    }
  }

  private readonly keepAlive = (): void => {
    const now = performance.now();
    if (now > this.deadline) this.expire();
    else this.deadline = now + this.ttlMs;
  };
}
