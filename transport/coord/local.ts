/**
 * The embedded mode's coordination: the Coordinator port in one process (see port.ts).
 *
 * This is the real thing for `npm start`, not a test double: one revision counter raised by
 * every change, keys carrying create/mod revisions and their lease, leases with TTL semantics
 * (local-lease.ts), claims as atomic create-if-absent, and watches with ordered asynchronous
 * delivery and replay from a bounded history (local-watch.ts). Every operation runs to
 * completion synchronously inside its promise, so each one is atomic.
 *
 * Choices where the port leaves room, mirrored by the etcd implementation:
 * - Like etcd, a change that changes nothing (deleting an absent key) raises no revision, and
 *   a lease's keys vanish in one revision (one delete event per key, sharing it).
 * - A plain `put` on a key attached to a lease detaches it; `Lease.put` attaches it to the
 *   new lease (as etcd does).
 * - `claim`/`put` through a lease that was revoked or lost reject with `closed`.
 * - `Lease.revoke()` does not call `onLost` (a deliberate end is not a loss); `onLost` is for
 *   expiry and for revocation by someone else.
 * - `watchPrefix` from a revision older than the kept history (`historyLimit` events, default
 *   10 000) rejects with `not_found`, not retriable (see local-watch.ts).
 * - `close()` ends every lease without calling `onLost`, stops every watch and timer, and makes
 *   later calls reject with `closed`. It is idempotent.
 */
import { TroupeError } from '../errors.js';
import { LocalLease, type LeaseStore } from './local-lease.js';
import { DEFAULT_HISTORY_LIMIT, WatchHub } from './local-watch.js';
import type { Claim, Coordinator, KeyValue, Lease, WatchEvent, Watcher } from './port.js';

export interface LocalCoordinatorOptions {
  /** Events kept for `fromRevision` replays. Default 10 000. */
  historyLimit?: number;
  /**
   * The revision the store starts from. Fencing epochs are claim revisions and the repo keeps
   * the newest it has seen in the database, so an in-process coordinator whose process restarts
   * must start above every revision it ever gave out: embedded mode passes the clock in ms.
   * Default 0.
   */
  initialRevision?: number;
}

export class LocalCoordinator implements Coordinator {
  private revision = 0;
  private nextLeaseId = 1;
  private closed = false;
  private readonly kvs = new Map<string, KeyValue>();
  private readonly leases = new Map<string, LocalLease>();
  private readonly watches: WatchHub;
  private readonly leaseStore: LeaseStore = {
    claim: (lease, key, value) => this.claimFor(lease, key, value),
    put: (lease, key, value) => {
      this.assertOpen();
      this.write(key, value, lease);
    },
    release: (lease, key) => {
      this.assertOpen();
      if (this.kvs.get(key)?.leaseId === lease.id) this.remove(key, ++this.revision);
    },
    drop: (lease) => this.dropLease(lease),
  };

  constructor(options: LocalCoordinatorOptions = {}) {
    this.watches = new WatchHub(options.historyLimit ?? DEFAULT_HISTORY_LIMIT);
    this.revision = options.initialRevision ?? 0;
  }

  async grantLease(ttlMs: number): Promise<Lease> {
    this.assertOpen();
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new TroupeError('invalid_argument', `lease TTL must be a positive number of ms, got ${ttlMs}`);
    }
    const lease = new LocalLease(String(this.nextLeaseId++), ttlMs, this.leaseStore);
    this.leases.set(lease.id, lease);
    return lease;
  }

  /** Revoking another holder's lease ends it as a loss, exactly as expiry does. */
  async revokeLease(leaseId: string): Promise<void> {
    this.assertOpen();
    this.leases.get(leaseId)?.expire();
  }

  /**
   * For tests of lease loss: behaves as if the lease's TTL had run out (its keys are deleted,
   * then its `onLost` listeners are called). Does nothing for an unknown or ended lease.
   */
  expireLease(leaseId: string): void {
    this.leases.get(leaseId)?.expire();
  }

  async get(key: string): Promise<KeyValue | null> {
    this.assertOpen();
    return this.kvs.get(key) ?? null;
  }

  /** Keys are compared as JavaScript strings, which is etcd's byte order for any key without astral characters. */
  async getPrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    this.assertOpen();
    const kvs: KeyValue[] = [];
    for (const kv of this.kvs.values()) {
      if (kv.key.startsWith(prefix)) kvs.push(kv);
    }
    kvs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { kvs, revision: this.revision };
  }

  async put(key: string, value: string): Promise<void> {
    this.assertOpen();
    this.write(key, value, undefined);
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    if (this.kvs.has(key)) this.remove(key, ++this.revision);
  }

  async watchPrefix(prefix: string, listener: (event: WatchEvent) => void, fromRevision?: number): Promise<Watcher> {
    this.assertOpen();
    return this.watches.watch(prefix, listener, fromRevision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const lease of this.leases.values()) lease.shutdown();
    this.leases.clear();
    this.kvs.clear();
    this.watches.closeAll();
  }

  private claimFor(lease: LocalLease, key: string, value: string): Claim | null {
    this.assertOpen();
    const held = this.kvs.get(key);
    // Held already: adopted when it is this lease's own (a claim whose release failed).
    if (held !== undefined) return held.leaseId === lease.id ? { key, createRevision: held.createRevision } : null;
    const kv = this.write(key, value, lease);
    return { key, createRevision: kv.createRevision };
  }

  /** Creates or replaces `key` at a new revision. Stored records are frozen and shared with readers. */
  private write(key: string, value: string, lease: LocalLease | undefined): KeyValue {
    const modRevision = ++this.revision;
    const previous = this.kvs.get(key);
    if (previous?.leaseId !== undefined && previous.leaseId !== lease?.id) {
      this.leases.get(previous.leaseId)?.keys.delete(key);
    }
    const createRevision = previous === undefined ? modRevision : previous.createRevision;
    const kv: KeyValue = Object.freeze(
      lease === undefined
        ? { key, value, createRevision, modRevision }
        : { key, value, createRevision, modRevision, leaseId: lease.id },
    );
    lease?.keys.add(key);
    this.kvs.set(key, kv);
    this.watches.publish({ type: 'put', kv });
    return kv;
  }

  /** Deletes an existing `key` as part of the change at `modRevision`. */
  private remove(key: string, modRevision: number): void {
    const previous = this.kvs.get(key);
    if (previous === undefined) return;
    this.kvs.delete(key);
    if (previous.leaseId !== undefined) this.leases.get(previous.leaseId)?.keys.delete(key);
    this.watches.publish({ type: 'delete', key, modRevision });
  }

  private dropLease(lease: LocalLease): void {
    this.leases.delete(lease.id);
    if (this.closed || lease.keys.size === 0) return;
    const keys = [...lease.keys];
    lease.keys.clear();
    const modRevision = ++this.revision;
    for (const key of keys) this.remove(key, modRevision);
  }

  private assertOpen(): void {
    if (this.closed) throw new TroupeError('closed', 'the coordinator is closed');
  }
}
