/**
 * `troupe gateway`: a gateway node of a cluster. It holds WebSocket connections and serves the
 * HTTP API (and /healthz, /readyz, /units, /metrics) on gateway.port, consumes its own topic
 * `im-downstream-<node id>`, produces client events to `im-upstream`, and reads and writes users,
 * tokens and conversations through the repo nodes over gRPC.
 */
import type { TroupeConfig } from '../../config/types.js';
import { openRepoClient } from '../cluster/repo-client.js';
import { advertisedHttpUrl } from '../cluster/ports.js';
import { runClusterRole } from '../cluster/run-role.js';
import { startGatewayRole } from '../roles/gateway-role.js';

export async function runGateway(config: TroupeConfig): Promise<void> {
  await runClusterRole(config, 'gateway', async (ctx, ports) => {
    const repo = await openRepoClient(config, ports.coord, ctx.metrics);
    const gateway = await startGatewayRole(ctx, { log: ports.log, producer: ports.producer, presence: ports.presence!, store: repo.store, sharedCache: ports.cache! });
    return {
      opsUrl: advertisedHttpUrl(config.gateway.host, gateway.port),
      describe: { port: gateway.port },
      ready: () => gateway.ready() && repo.ready(),
      drain: async () => {
        await gateway.drain();
        await gateway.close();
        await repo.close();
      },
    };
  });
}
