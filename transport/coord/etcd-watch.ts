/**
 * A prefix watch of the etcd coordinator (etcd.ts) over etcd3's watcher, which shares one gRPC
 * stream among the watches of a client and re-creates them after the stream breaks.
 *
 * etcd3 resumes a re-created watch after the revision in the header of the last response it saw.
 * That header can run ahead of the events delivered: a creation response carries the store's
 * current revision while the changes a replay asked for are still to come. So this watch keeps
 * its own position, the newest revision whose changes have all been delivered, and sets the
 * resume point to the revision after it whenever etcd3 has moved it. etcd never splits the
 * changes of one revision over two responses (its watch responses break between revisions), so
 * events at or below that position are repeats and are dropped: every change is delivered once,
 * in revision order, across any number of reconnects.
 *
 * An empty response is a progress notification, which etcd sends only to a watch that has
 * caught up; its header revision is then safe to resume after.
 *
 * If etcd cancels the watch (it would, for one resumed after a revision compacted away while the
 * stream was down), the promise above cannot be kept: delivery stops and the error is rethrown
 * as an uncaught exception, so that a node never goes on with a routing table or configuration
 * that silently stopped following etcd. Listeners must not throw; an error they throw is
 * rethrown outside the delivery loop, and later events are still delivered.
 */
import type { IWatchResponse, Watcher as Etcd3Watcher } from 'etcd3';
import { TroupeError } from '../errors.js';
import { etcdError, keyValueOf } from './etcd-mapping.js';
import type { WatchEvent, Watcher } from './port.js';

function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

export class EtcdWatch implements Watcher {
  private active = true;
  private connected = false;
  /** Every change up to this revision was delivered, or came before the watch; undefined until etcd says where it starts. */
  private position: number | undefined;
  private settle: { resolve(): void; reject(err: TroupeError): void } | undefined;
  private cancelling: Promise<void> | undefined;

  /**
   * Wraps a watcher that etcd3 has not connected yet (from `WatchBuilder.watcher()`), so that no
   * response can come before the listeners below are attached. With `fromRevision` the watcher
   * must start at `fromRevision + 1`.
   */
  constructor(
    private readonly inner: Etcd3Watcher,
    private readonly listener: (event: WatchEvent) => void,
    fromRevision: number | undefined,
    private readonly cancelTimeoutMs: number,
  ) {
    this.position = fromRevision;
    inner.on('connected', this.onConnected);
    inner.on('data', this.onData);
    inner.on('disconnected', this.onDisconnected);
    inner.on('error', this.onError);
  }

  /**
   * Resolves once etcd has created the watch. Rejects (and cancels it) if the stream fails or is
   * refused before that (`unavailable` when etcd cannot be reached), or after `timeoutMs` (`timeout`).
   */
  ready(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new TroupeError('timeout', `etcd did not create the watch within ${timeoutMs} ms`)), timeoutMs);
      this.settle = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** Stops delivery at once, then asks etcd to drop the watch (waiting at most the cancel timeout). Idempotent. */
  cancel(): Promise<void> {
    this.active = false;
    this.cancelling ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.cancelTimeoutMs);
      timer.unref();
      this.inner.cancel().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        () => {
          clearTimeout(timer);
          resolve();
        },
      );
    });
    return this.cancelling;
  }

  private fail(err: TroupeError): void {
    const settle = this.settle;
    this.settle = undefined;
    void this.cancel();
    settle?.reject(err);
  }

  private readonly onConnected = (res: IWatchResponse): void => {
    this.connected = true;
    // A watch without a start revision begins after the revision in its creation response.
    this.position ??= Number(res.header.revision);
    this.pinResumePoint();
    const settle = this.settle;
    this.settle = undefined;
    settle?.resolve();
  };

  private readonly onData = (res: IWatchResponse): void => {
    if (!this.active) return;
    const floor = this.position ?? 0;
    let newest = floor;
    if (res.events.length === 0) {
      newest = Math.max(floor, Number(res.header.revision));
    }
    for (const event of res.events) {
      const revision = Number(event.kv.mod_revision);
      if (revision <= floor) continue;
      newest = Math.max(newest, revision);
      const mapped: WatchEvent =
        event.type === 'Put'
          ? { type: 'put', kv: keyValueOf(event.kv) }
          : { type: 'delete', key: event.kv.key.toString(), modRevision: revision };
      try {
        this.listener(mapped);
      } catch (err) {
        rethrowLater(err);
      }
      if (!this.active) return;
    }
    this.position = newest;
    this.pinResumePoint();
  };

  private readonly onDisconnected = (err: Error): void => {
    // After creation etcd3 reconnects by itself; before it, the caller hears that etcd is unreachable.
    if (!this.connected) this.fail(etcdError(err, 'watch'));
  };

  private readonly onError = (err: Error): void => {
    if (!this.connected) {
      this.fail(etcdError(err, 'watch'));
      return;
    }
    if (!this.active) return;
    this.active = false;
    rethrowLater(etcdError(err, 'watch cancelled by etcd; its changes can no longer be followed'));
  };

  /** Runs after etcd3's own listeners (attached first), which move the resume point to the header revision. */
  private pinResumePoint(): void {
    if (this.position !== undefined) this.inner.request.start_revision = String(this.position + 1);
  }
}
