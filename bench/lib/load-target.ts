/**
 * What the load phase runs against, whatever its shape: the embedded server (one process, one
 * URL) or a cluster (a process per role, one URL per gateway). The load phase only needs the
 * entry points, the CPU its processes spent and the storage's commit counters, so both targets
 * are measured and checked by the same code.
 */
import { HttpApi } from './http-api.js';
import { readStoreCounters, type StoreCounters } from './server-metrics.js';
import type { ServerProcess } from './server-process.js';

export type TargetKind = 'embedded' | 'cluster';

export interface LoadTarget {
  readonly kind: TargetKind;
  /** `http://127.0.0.1:<port>` of every entry point (the server, or each gateway). */
  readonly baseUrls: readonly string[];
  /** CPU time (user + system, ms) the Troupe processes have spent so far, summed. */
  cpuMillis(): Promise<number>;
  /** CPU time (ms) of the services the target runs on (database, broker, …); undefined when it has none. */
  serviceCpuMillis(): Promise<number | undefined>;
  /** The storage's group-commit counters so far, summed over the processes that commit. */
  storeCounters(): Promise<StoreCounters>;
  /** Lines the Troupe processes logged at warn or above; complete once stop() has resolved. */
  outputLines(): number;
  /** Stops every process of the target and removes its folders. Idempotent. */
  stop(): Promise<void>;
}

/** The embedded server as a target: one process, which is also its own storage. */
export function embeddedTarget(server: ServerProcess): LoadTarget {
  return {
    kind: 'embedded',
    baseUrls: [server.baseUrl],
    cpuMillis: () => server.cpuMillis(),
    serviceCpuMillis: () => Promise.resolve(undefined),
    storeCounters: () => readStoreCounters(server.baseUrl),
    outputLines: () => server.outputLines(),
    stop: () => server.stop(),
  };
}

/**
 * User i's entry point: users are dealt round-robin over the entry points, so neighbours (who share
 * groups and direct conversations) sit on different gateways and their messages cross gateways.
 */
export class EntryPoints {
  private readonly apis: HttpApi[];

  constructor(private readonly baseUrls: readonly string[]) {
    this.apis = baseUrls.map((url) => new HttpApi(url));
  }

  apiFor(user: number): HttpApi {
    return this.apis[user % this.apis.length]!;
  }

  /** The WebSocket URL of `user`, authenticated with `accessToken`. */
  webSocketUrl(user: number, accessToken: string): string {
    const base = this.baseUrls[user % this.baseUrls.length]!.replace(/^http/, 'ws');
    return `${base}/v1/ws?token=${encodeURIComponent(accessToken)}`;
  }
}
