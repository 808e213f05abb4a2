/**
 * `troupe logic`: a logic node of a cluster. It joins the `logic` consumer group of
 * `im-upstream`, hosts the session and conversation actors of the partitions it is assigned
 * (each only while it holds the partition's claim in etcd), writes through the repo nodes over
 * gRPC and sends deliveries to each gateway's downstream topic.
 */
import type { TroupeConfig } from '../../config/types.js';
import { openRepoClient } from '../cluster/repo-client.js';
import { runClusterRole } from '../cluster/run-role.js';
import { startLogicRole } from '../roles/logic-role.js';

export async function runLogic(config: TroupeConfig): Promise<void> {
  await runClusterRole(config, 'logic', async (ctx, ports) => {
    const repo = await openRepoClient(config, ports.coord, ctx.metrics);
    await ports.log.createTopics([
      { topic: config.log.upstreamTopic, partitions: config.log.upstreamPartitions },
      { topic: config.log.taskTopic, partitions: config.log.taskPartitions },
    ]);
    const logic = await startLogicRole(ctx, { log: ports.log, producer: ports.producer, lease: ports.lease, presence: ports.presence!, store: repo.store, onJoined: (id) => ports.advertiseMember(id) });
    return {
      ready: () => logic.ready() && repo.ready(),
      evict: (memberId) => logic.evict(memberId),
      drain: async () => {
        await logic.stopConsuming();
        logic.close();
        await repo.close();
      },
    };
  });
}
