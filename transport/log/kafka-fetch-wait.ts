/**
 * How long a consumer's fetches ask the broker to wait for records: `activeMs` while records
 * keep coming, `idleMs` once every fetch for `idleAfterMs` came back empty, and `activeMs` again
 * from the first fetch that brings records.
 *
 * Real Kafka answers a fetch as soon as records arrive, so a long wait costs no latency there
 * and both waits are best equal and long (the defaults). librdkafka's mock cluster, which
 * `troupe local-cluster` runs, holds a fetch of empty partitions for its whole wait even when
 * records arrive meanwhile: there a short wait keeps latency low under load but turns every
 * idle consumer into a poller (measured: 50 fetches a second at 20 ms, about 5 % of a core per
 * role process). The idle wait trades the latency of the first record after a quiet second (it
 * can wait up to `idleMs` per log hop) for an idle cluster that hardly polls
 * (docs/architecture.md, "Kafka fetch waits").
 */
import { performance } from 'node:perf_hooks';
import type { Broker, Cluster } from 'kafkajs';

export interface FetchWaitSettings {
  activeMs: number;
  idleMs: number;
  /** Empty fetches for this long make a consumer idle. Default 1000 ms. */
  idleAfterMs?: number;
}

export class AdaptiveFetchWait {
  /** When the current run of empty fetches began; null while records come. */
  private emptySince: number | null = null;
  /** Fetches observed so far. */
  fetches = 0;
  private readonly idleAfterMs: number;

  constructor(
    private readonly settings: FetchWaitSettings,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.idleAfterMs = settings.idleAfterMs ?? 1000;
  }

  /** The wait the next fetch asks for. */
  get waitMs(): number {
    if (this.emptySince === null || this.now() - this.emptySince < this.idleAfterMs) return this.settings.activeMs;
    return this.settings.idleMs;
  }

  /** A fetch came back with `records` records (over all its partitions). */
  observe(records: number): void {
    this.fetches++;
    if (records > 0) this.emptySince = null;
    else this.emptySince ??= this.now();
  }
}

type FetchRequest = Parameters<Broker['fetch']>[0];
type FetchResponse = Awaited<ReturnType<Broker['fetch']>>;

const ADAPTED = Symbol('troupe:adaptive-fetch-wait');

function recordsIn(response: FetchResponse): number {
  let records = 0;
  for (const topic of (response as { responses?: Array<{ partitions?: Array<{ messages?: unknown[] }> }> }).responses ?? []) {
    for (const partition of topic.partitions ?? []) records += partition.messages?.length ?? 0;
  }
  return records;
}

/**
 * Makes every fetch of one consumer ask for `wait.waitMs` and report what it brought. `cluster`
 * must be the consumer's own (kafka-join-hook.ts hands it over): kafkajs looks up the broker
 * for each fetch there, and each member has a client, hence brokers, of its own, so patching
 * those brokers' `fetch` touches no other consumer or producer.
 */
export function adaptFetchWaits(cluster: Cluster, wait: AdaptiveFetchWait): void {
  const findBroker = cluster.findBroker.bind(cluster);
  cluster.findBroker = async (node) => {
    const broker = (await findBroker(node)) as Broker & { [ADAPTED]?: true };
    if (broker[ADAPTED] !== true) {
      const fetch = broker.fetch.bind(broker);
      broker.fetch = async (request: FetchRequest) => {
        const response = await fetch({ ...request, maxWaitTime: wait.waitMs });
        wait.observe(recordsIn(response));
        return response;
      };
      broker[ADAPTED] = true;
    }
    return broker;
  };
}
