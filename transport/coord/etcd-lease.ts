/**
 * A lease of the etcd coordinator (etcd.ts): an etcd lease kept alive by etcd3's keepalive
 * stream, which renews it every third of its TTL, plus the self-fencing the port asks for.
 *
 * **TTL.** etcd counts TTLs in whole seconds: the TTL asked for is rounded up (at least 1 s), and
 * `ttlMs` reports the rounded value. etcd may grant more than asked: its minimum TTL is 1.5
 * election timeouts, rounded up to a second (2 s with the default 1 s election timeout). A longer
 * lease on the server only makes the fence below more conservative.
 *
 * **Self-fencing.** etcd expires the lease one TTL after the last renewal it received, and every
 * renewal it received was sent by us earlier. So the lease cannot expire before (send time of the
 * newest answered renewal) + TTL. etcd3 on its own reports a loss only when etcd answers that the
 * lease is gone, or after two TTLs without contact, far too late for an owner that must stop
 * before a successor can claim. Here the lease is therefore given up (`onLost` fires, later
 * claims and puts reject with `closed`) as soon as no renewal sent in the last half TTL has been
 * answered: the owner learns of the loss at least half a TTL before the lease can expire on the
 * server. A lease given up this way is also revoked in the background, so that its keys vanish at
 * once if etcd still answers (else with the TTL).
 *
 * **Renewals.** etcd3 renews every third of the TTL; with only those, a round trip (or an
 * event-loop stall, or an etcd restart) longer than a sixth of the TTL would give the lease up:
 * under a second with a TTL of a few seconds. So the lease is also renewed on its own every
 * twentieth of the TTL, but not more often than every `RENEW_EVERY_MS` (250 ms; nor less often
 * than a third of the TTL), each renewal a `keepaliveOnce` with a deadline of half a TTL: a stall,
 * or an etcd outage such as a restart, of up to half the TTL less that interval (and less the
 * wait for the first renewal after it) is ridden out: 4.5 s with the default 10 s TTL, renewed
 * every 0.5 s. The price: a dead node's lease runs out nearly a whole TTL after its death, rather
 * than somewhere in its last third; and a few small calls a second to etcd, each waking the node
 * and etcd (which is why the interval grows with the TTL instead of staying at 250 ms: an idle
 * node's wakeups are most of its CPU, docs/architecture.md, "Where the cluster's CPU goes").
 *
 * Renewal send times come from etcd3's `keepaliveFired` events, matched in order to its
 * `keepaliveSucceeded` events on the same stream (`keepaliveEstablished` starts a new one), and
 * from each `keepaliveOnce` call. A mismatch could only credit a renewal with an older send time,
 * which errs on the safe side.
 *
 * Choices mirrored from local-lease.ts: `revoke()` does not call `onLost` (a deliberate end is
 * not a loss); claim and put through a lease that was revoked, lost or closed reject with
 * `closed`; `release` through such a lease does nothing.
 */
import { performance } from 'node:perf_hooks';
import { EtcdLeaseInvalidError, type Etcd3, type Lease as Etcd3Lease } from 'etcd3';
import { TroupeError } from '../errors.js';
import { etcdError } from './etcd-mapping.js';
import type { Claim, Lease } from './port.js';

type LeaseState = 'live' | 'revoked' | 'lost' | 'closed';

/** The shortest pause between this module's own renewals (see Renewals above). */
export const RENEW_EVERY_MS = 250;
/** This module's renewals come every this fraction of the TTL (see Renewals above). */
export const RENEWALS_PER_TTL = 20;

/** The pause between this module's own renewals for a lease of `ttlMs`. */
export function renewalIntervalMs(ttlMs: number): number {
  return Math.min(Math.max(RENEW_EVERY_MS, ttlMs / RENEWALS_PER_TTL), ttlMs / 3);
}

export class EtcdLease implements Lease {
  private state: LeaseState = 'live';
  private leaseId = '';
  /** Monotonic send times of the renewals not yet answered on the current keepalive stream. */
  private unanswered: number[] = [];
  /** The monotonic time by which another renewal must have been answered. */
  private deadline: number;
  private fence: NodeJS.Timeout | undefined;
  /** This module's own renewals (see Renewals above); at most one in flight. */
  private renewals: NodeJS.Timeout | undefined;
  private renewing = false;
  private listeners: Array<() => void> = [];
  private revokedOnServer = false;

  /** Grants an etcd lease of `ttlMs` rounded up to whole seconds and starts its keepalive. */
  static async grant(client: Etcd3, ttlMs: number): Promise<EtcdLease> {
    const ttlSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    const sentAt = performance.now();
    const lease = new EtcdLease(client, client.lease(ttlSeconds), ttlSeconds * 1000, sentAt);
    try {
      lease.leaseId = await lease.inner.grant();
    } catch (err) {
      lease.state = 'closed';
      lease.inner.release();
      throw etcdError(err, 'lease grant');
    }
    lease.armFence();
    lease.startRenewals();
    return lease;
  }

  private constructor(
    private readonly client: Etcd3,
    private readonly inner: Etcd3Lease,
    readonly ttlMs: number,
    grantSentAt: number,
  ) {
    this.deadline = grantSentAt + ttlMs / 2;
    // Attached before the grant is awaited, so that no keepalive event goes unseen.
    inner.on('keepaliveEstablished', () => (this.unanswered = []));
    inner.on('keepaliveFired', () => this.unanswered.push(performance.now()));
    inner.on('keepaliveSucceeded', this.renewed);
    inner.on('lost', () => this.lose(false));
  }

  /** False once revoked, lost or closed. */
  get live(): boolean {
    return this.state === 'live';
  }

  /** etcd's lease id, in decimal, as etcd3 and `KeyValue.leaseId` spell it. */
  get id(): string {
    return this.leaseId;
  }

  async claim(key: string, value: string): Promise<Claim | null> {
    this.assertLive();
    const client = this.client;
    const res = await this.call('claim', () =>
      client.if(key, 'Create', '==', 0).then(client.put(key).value(value).lease(this.leaseId)).else(client.get(key)).commit(),
    );
    // Given up while the claim was under way: the owner has been told to stop, so it gets no claim.
    this.assertLive();
    if (res.succeeded) return { key, createRevision: Number(res.header.revision) };
    // Held already: adopted when it is this lease's own (a claim whose release failed).
    const held = res.responses[0]?.response_range?.kvs[0];
    return held !== undefined && held.lease === this.leaseId ? { key, createRevision: Number(held.create_revision) } : null;
  }

  async put(key: string, value: string): Promise<void> {
    this.assertLive();
    await this.call('put', () => this.client.put(key).value(value).lease(this.leaseId).exec());
    this.assertLive();
  }

  async release(key: string): Promise<void> {
    if (this.state !== 'live') return;
    const client = this.client;
    await this.call('release', () => client.if(key, 'Lease', '==', this.leaseId).then(client.delete().key(key)).commit());
  }

  /** A listener registered after the loss is still called (in a microtask). */
  onLost(listener: () => void): void {
    if (this.state === 'lost') queueMicrotask(listener);
    else if (this.state === 'live') this.listeners.push(listener);
  }

  /** Deletes the lease's keys at once. Calling it again retries a revocation etcd did not confirm. */
  async revoke(): Promise<void> {
    if (this.state === 'live') this.end('revoked');
    if (this.state !== 'revoked' || this.revokedOnServer) return;
    try {
      await this.inner.revoke();
      this.revokedOnServer = true;
    } catch (err) {
      throw etcdError(err, 'lease revoke');
    }
  }

  /**
   * The coordinator is closing: stops the keepalive without calling `onLost` and revokes the lease
   * so its keys vanish now rather than a TTL later. Never rejects; an unreachable etcd lets the
   * lease expire instead.
   */
  async close(): Promise<void> {
    const revoke = this.state === 'live' || (this.state === 'revoked' && !this.revokedOnServer);
    this.end('closed');
    if (revoke) await this.inner.revoke().catch(() => undefined);
    else this.inner.release();
  }

  private end(state: 'revoked' | 'closed'): void {
    clearTimeout(this.fence);
    clearInterval(this.renewals);
    if (this.state === 'live' || state === 'closed') this.state = state;
    this.listeners = [];
  }

  /** The lease is gone (etcd said so) or cannot be trusted (no renewal answered in time). */
  private lose(stillOnServer: boolean): void {
    if (this.state !== 'live') return;
    this.state = 'lost';
    clearTimeout(this.fence);
    clearInterval(this.renewals);
    if (stillOnServer) this.inner.revoke().catch(() => undefined);
    else this.inner.release();
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) queueMicrotask(listener);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof EtcdLeaseInvalidError) {
        this.lose(false);
        throw new TroupeError('closed', `lease ${this.leaseId} was lost (${what})`, { cause: err });
      }
      throw etcdError(err, what);
    }
  }

  private assertLive(): void {
    if (this.state === 'live' && performance.now() > this.deadline) this.lose(true);
    if (this.state !== 'live') {
      const why = this.state === 'lost' ? 'was lost' : this.state === 'revoked' ? 'was revoked' : 'was closed with its coordinator';
      throw new TroupeError('closed', `lease ${this.leaseId} ${why}`);
    }
  }

  private readonly renewed = (): void => {
    const sentAt = this.unanswered.shift();
    if (sentAt !== undefined) this.credit(sentAt);
  };

  /** A renewal sent at `sentAt` (monotonic) was answered: the lease cannot expire before sentAt + TTL. */
  private credit(sentAt: number): void {
    if (this.state !== 'live') return;
    this.deadline = Math.max(this.deadline, sentAt + this.ttlMs / 2);
    this.armFence();
  }

  private startRenewals(): void {
    const everyMs = renewalIntervalMs(this.ttlMs);
    if (this.state !== 'live' || everyMs >= this.ttlMs / 3) return; // etcd3's own renewals come as often
    this.renewals = setInterval(this.renewOnce, everyMs);
    this.renewals.unref();
  }

  /** One renewal of our own (none while the last is unanswered); a lease etcd no longer knows is lost. */
  private readonly renewOnce = (): void => {
    if (this.state !== 'live' || this.renewing) return;
    this.renewing = true;
    const sentAt = performance.now();
    this.inner
      .keepaliveOnce({ deadline: Date.now() + this.ttlMs / 2 })
      .then(
        () => this.credit(sentAt),
        (err: unknown) => {
          // Unreachable etcd: the next renewal tries again; the fence decides when to give up.
          if (err instanceof EtcdLeaseInvalidError) this.lose(false);
        },
      )
      .finally(() => (this.renewing = false));
  };

  private armFence(): void {
    clearTimeout(this.fence);
    if (this.state !== 'live') return;
    this.fence = setTimeout(this.checkFence, Math.max(0, this.deadline - performance.now()) + 1);
    this.fence.unref();
  }

  private readonly checkFence = (): void => {
    if (this.state !== 'live') return;
    if (performance.now() <= this.deadline) this.armFence();
    else this.lose(true);
  };
}
