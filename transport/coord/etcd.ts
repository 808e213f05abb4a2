/**
 * The cluster mode's coordination: the Coordinator port (port.ts) on etcd v3 through one etcd3
 * client. Only translation lives here; leases are in etcd-lease.ts, watches in etcd-watch.ts,
 * shapes and errors in etcd-mapping.ts.
 *
 * - Revisions are etcd's own: one counter for the whole store, create and mod revisions per key.
 * - A claim is one transaction, `if createRevision(key) == 0 then put(key, value, lease)`; the
 *   revision of that transaction is the key's create revision, the fencing epoch. A release is
 *   `if lease(key) == this lease then delete(key)`.
 * - A watch from `fromRevision` asks etcd for changes from `fromRevision + 1` (etcd's start
 *   revision is inclusive, the port's is exclusive). A revision compacted away rejects with
 *   `not_found`, not retriable, as the local coordinator does past its history.
 *
 * Errors: `unavailable` (retriable) when etcd cannot be reached, `timeout` when a call ran past
 * its deadline (outcome unknown), `closed` after close(). Unary calls carry a deadline
 * (`callTimeoutMs`); the keepalive and watch streams do not, and gRPC keepalive pings notice a
 * connection that died silently (a partition) within about `keepaliveTimeMs` + 5 s, after which
 * etcd3 reconnects and the watches resume.
 *
 * etcd3's default fault handling puts a circuit breaker in front of each host that, after three
 * failures, refuses every call for five seconds, lease keepalive streams included: a blip of a
 * few hundred ms would then cost every lease with a TTL of a few seconds. Retrying is left to
 * the callers (`retry()` in errors.ts) and to etcd3's own retry across hosts, so each host here
 * gets a policy that only passes calls through.
 */
import { Etcd3, EtcdLeaseInvalidError, type IOptions } from 'etcd3';
import { TroupeError } from '../errors.js';
import { EtcdLease } from './etcd-lease.js';
import { etcdError, keyValueOf } from './etcd-mapping.js';
import { EtcdWatch } from './etcd-watch.js';
import type { Coordinator, KeyValue, Lease, WatchEvent, Watcher } from './port.js';

export interface EtcdCoordinatorOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`; calls go to any of them. */
  endpoints: string | string[];
  /** Deadline of each unary call and of a watch's creation, in ms. Default 5000. */
  callTimeoutMs?: number;
  /** Interval of gRPC keepalive pings on an idle connection, in ms (etcd refuses pings under 5 s). Default 10 000. */
  keepaliveTimeMs?: number;
}

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/** A host policy that runs each call once, as is, and never refuses one. */
function passThroughPolicy(): HostPolicy {
  const noEvents = (): { dispose(): void } => ({ dispose: () => undefined });
  const neverAborted = new AbortController().signal;
  return {
    // Declared by cockatiel's IPolicy for typing only; never read.
    _altReturn: undefined as never,
    onSuccess: noEvents,
    onFailure: noEvents,
    execute: async (fn, signal) => fn({ signal: signal ?? neverAborted }),
  };
}

export class EtcdCoordinator implements Coordinator {
  private readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private readonly leases = new Set<EtcdLease>();
  private readonly watches = new Set<EtcdWatch>();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: EtcdCoordinatorOptions) {
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    const deadlineMs = this.callTimeoutMs;
    this.client = new Etcd3({
      hosts: options.endpoints,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + deadlineMs }),
      faultHandling: { host: () => passThroughPolicy() },
      grpcOptions: {
        'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 10_000,
        'grpc.keepalive_timeout_ms': 5000,
      },
    });
  }

  async grantLease(ttlMs: number): Promise<Lease> {
    this.assertOpen();
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new TroupeError('invalid_argument', `lease TTL must be a positive number of ms, got ${ttlMs}`);
    }
    const lease = await EtcdLease.grant(this.client, ttlMs);
    if (this.closed) {
      await lease.close();
      throw new TroupeError('closed', 'the coordinator was closed while the lease was granted');
    }
    for (const held of this.leases) if (!held.live) this.leases.delete(held);
    this.leases.add(lease);
    return lease;
  }

  /**
   * etcd's LeaseRevoke takes any lease id. A lease etcd no longer knows answers "lease not
   * found", which is what was asked for. The holder, if alive, learns of the loss at its next
   * renewal (etcd-lease.ts).
   */
  async revokeLease(leaseId: string): Promise<void> {
    if (!/^[1-9][0-9]*$/.test(leaseId)) throw new TroupeError('invalid_argument', `lease id must be a positive decimal, got ${leaseId}`);
    try {
      await this.call('lease revoke', () => this.client.leaseClient.leaseRevoke({ ID: leaseId }));
    } catch (err) {
      if (err instanceof TroupeError && err.cause instanceof EtcdLeaseInvalidError) return;
      throw err;
    }
  }

  async get(key: string): Promise<KeyValue | null> {
    const res = await this.call('get', () => this.client.get(key).exec());
    const kv = res.kvs[0];
    return kv === undefined ? null : keyValueOf(kv);
  }

  /** etcd returns a range in key (byte) order. */
  async getPrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const res = await this.call('getPrefix', () => this.client.getAll().prefix(prefix).exec());
    return { kvs: res.kvs.map(keyValueOf), revision: Number(res.header.revision) };
  }

  async put(key: string, value: string): Promise<void> {
    await this.call('put', () => this.client.put(key).value(value).exec());
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', () => this.client.delete().key(key).exec());
  }

  async watchPrefix(prefix: string, listener: (event: WatchEvent) => void, fromRevision?: number): Promise<Watcher> {
    this.assertOpen();
    const builder = this.client.watch().prefix(prefix);
    if (fromRevision !== undefined) {
      if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
        throw new TroupeError('invalid_argument', `fromRevision must be a non-negative integer, got ${fromRevision}`);
      }
      // etcd would accept the watch and cancel it a moment later; a read at that revision fails at once.
      await this.call('watch', () => this.client.getAll().prefix(prefix).revision(Math.max(1, fromRevision)).count());
      builder.startRevision(String(fromRevision + 1));
    }
    const watch = new EtcdWatch(builder.watcher(), listener, fromRevision, this.callTimeoutMs);
    this.watches.add(watch);
    try {
      await watch.ready(this.callTimeoutMs);
    } catch (err) {
      this.watches.delete(watch);
      throw this.closed ? new TroupeError('closed', 'the coordinator was closed', { cause: err }) : err;
    }
    if (this.closed) {
      await watch.cancel();
      throw new TroupeError('closed', 'the coordinator was closed while the watch was created');
    }
    return {
      cancel: async () => {
        this.watches.delete(watch);
        await watch.cancel();
      },
    };
  }

  /**
   * Revokes every live lease (without calling `onLost`), so their keys vanish now rather than a
   * TTL later, cancels every watch and closes the client; later calls reject with `closed`.
   * Idempotent. With etcd unreachable the leases expire with their TTL instead.
   */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await Promise.all([...this.leases].map((lease) => lease.close()));
      await Promise.all([...this.watches].map((watch) => watch.cancel()));
      this.leases.clear();
      this.watches.clear();
      this.client.close();
    })();
    return this.closing;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn();
    } catch (err) {
      if (this.closed) throw new TroupeError('closed', `the coordinator was closed during ${what}`, { cause: err });
      throw etcdError(err, what);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new TroupeError('closed', 'the coordinator is closed');
  }
}
