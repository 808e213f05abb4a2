/**
 * How gateways, logic and task nodes reach the repo: the Store port over gRPC (GrpcStore),
 * each call sent to the repo node that owns the key's shard according to the claims in etcd
 * (ShardRoutes, kept current by a watch), with deadlines, retries of idempotent calls and a
 * circuit breaker per repo node whose state shows in /metrics. A call refused with `not_owner`
 * (the route was stale) waits for the watch to move the shard's route, then goes to the new
 * owner, within the call's deadline.
 */
import type { TroupeMetrics } from '../../actors/metrics.js';
import { ShardRoutes } from '../../actors/repo/shard-routes.js';
import type { TroupeConfig } from '../../config/types.js';
import type { Coordinator } from '../../transport/coord/port.js';
import type { Store } from '../../transport/store/port.js';
import { GrpcStore } from '../../transport/store/grpc.js';

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

export interface RepoClient {
  store: Store;
  /** Every shard has an owner. */
  ready(): boolean;
  close(): Promise<void>;
}

export async function openRepoClient(config: TroupeConfig, coord: Coordinator, metrics: TroupeMetrics): Promise<RepoClient> {
  const routes = new ShardRoutes({ coord, cluster: config.node.cluster, shards: config.repo.shards });
  await routes.start();
  let complete = false;
  void routes.whenComplete().then(() => (complete = true));
  const store = new GrpcStore({
    resolve: (key) => routes.resolve(key),
    routeMoved: (key, refused, withinMs) => routes.whenMoved(key, refused, withinMs),
    deadlineMs: config.rpc.deadlineMs,
    attempts: config.rpc.attempts,
    breakerFailures: config.rpc.breakerFailures,
    breakerHalfOpenMs: config.rpc.breakerHalfOpenMs,
    observer: {
      onCall: (target, method, outcome, seconds) => {
        metrics.rpcCalls.inc({ target, method, outcome });
        metrics.rpcSeconds.observe({ method }, seconds);
      },
      onBreakerState: (target, state) => metrics.rpcBreakerState.set({ target }, BREAKER_VALUE[state]),
    },
  });
  return {
    store,
    ready: () => complete,
    close: async () => {
      await store.close();
      await routes.close();
    },
  };
}
