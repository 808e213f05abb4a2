/**
 * `troupe task`: a task node of a cluster. It joins the `task` consumer group of `im-task` and
 * runs the fanout workers of large groups: each job's members (named in it, or the whole slot from
 * the node's copy of the group, read from the repo nodes over gRPC) are looked up in Redis
 * presence a chunk at a time and delivered with one record per gateway topic.
 */
import type { TroupeConfig } from '../../config/types.js';
import { openRepoClient } from '../cluster/repo-client.js';
import { runClusterRole } from '../cluster/run-role.js';
import { startTaskRole } from '../roles/task-role.js';

export async function runTask(config: TroupeConfig): Promise<void> {
  await runClusterRole(config, 'task', async (ctx, ports) => {
    const repo = await openRepoClient(config, ports.coord, ctx.metrics);
    const task = await startTaskRole(ctx, { log: ports.log, producer: ports.producer, lease: ports.lease, presence: ports.presence!, store: repo.store, onJoined: (id) => ports.advertiseMember(id) });
    return {
      ready: () => task.ready() && repo.ready(),
      evict: (memberId) => task.evict(memberId),
      drain: async () => {
        await task.stopConsuming();
        task.close();
        await repo.close();
      },
    };
  });
}
