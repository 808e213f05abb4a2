/**
 * The coordination port: leases, claims and watches (docs/architecture.md, "Partition hosting and claims").
 *
 * Implementations: `local.ts` (embedded mode, in-process) and, in cluster mode, etcd through
 * etcd3. Both pass spec/contract/coord.contract.ts.
 *
 * Guarantees every implementation gives:
 * - **Revisions.** The store has one revision counter, raised by every change. A key's
 *   `createRevision` is the revision of the change that created it; a key deleted and created
 *   again gets a new, larger one. Revisions are positive safe integers.
 * - **Leases.** A lease is kept alive by the implementation while the process runs. If it
 *   cannot be renewed before its TTL runs out (or is revoked), every key attached to it is
 *   deleted and `onLost` listeners are called. The owner must stop acting on what the lease
 *   held as soon as `onLost` fires (and, in etcd mode, before the TTL can have run out).
 * - **Claims.** `claim()` creates a key under the lease only if the key does not exist, in one
 *   atomic step (a key already under the same lease is adopted, unchanged). The returned `createRevision` is the claim's fencing epoch: a later claim of
 *   the same key always has a larger one.
 * - **Watches.** A watch delivers every change under its prefix after `fromRevision` (or after
 *   the watch started), in revision order, each exactly once, surviving reconnects.
 * - **Errors.** `unavailable` (retriable) when the store cannot be reached; `closed` after close.
 */

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** The lease the key is attached to, if any. */
  leaseId?: string;
}

export type WatchEvent =
  | { type: 'put'; kv: KeyValue }
  | { type: 'delete'; key: string; modRevision: number };

export interface Claim {
  key: string;
  /** Fencing epoch: the claim key's create revision. */
  createRevision: number;
}

export interface Lease {
  readonly id: string;
  readonly ttlMs: number;
  /**
   * Creates `key` attached to this lease if absent. When it exists attached to this same lease
   * (the caller's own claim, e.g. one whose release failed), returns that claim with its original
   * revision: the owner adopts it. Null when another lease (or no lease) holds it.
   */
  claim(key: string, value: string): Promise<Claim | null>;
  /** Writes `key` attached to this lease (registry entries). */
  put(key: string, value: string): Promise<void>;
  /** Deletes `key` only if it is attached to this lease (releasing a claim). */
  release(key: string): Promise<void>;
  /** Registers a listener called once if the lease is lost (expired, revoked, or unreachable). */
  onLost(listener: () => void): void;
  /** Revokes the lease: its keys vanish at once. Idempotent. */
  revoke(): Promise<void>;
}

export interface Watcher {
  cancel(): Promise<void>;
}

export interface Coordinator {
  /** Grants a lease with the given TTL and keeps it alive until revoked or lost. */
  grantLease(ttlMs: number): Promise<Lease>;
  /**
   * Revokes the lease `leaseId` (any lease, typically another node's, read from its keys'
   * `leaseId`): every key attached to it is deleted at once, as if its TTL had run out. For its
   * holder this is a loss (`onLost` fires). An unknown or already ended lease is not an error.
   * For a node known to be dead (docs/architecture.md, "Failover").
   */
  revokeLease(leaseId: string): Promise<void>;
  get(key: string): Promise<KeyValue | null>;
  /** Every key under `prefix`, in key order, and the store revision they were read at. */
  getPrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Watches `prefix`; with `fromRevision`, changes after that revision are replayed first. */
  watchPrefix(prefix: string, listener: (event: WatchEvent) => void, fromRevision?: number): Promise<Watcher>;
  close(): Promise<void>;
}
