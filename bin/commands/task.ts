/**
 * `troupe task`: a task node of a cluster. It joins the `task` consumer group of `im-task` and
 * runs the fanout workers of large groups: each job's member chunk is looked up in Redis presence
 * in one batch and delivered with one record per gateway topic.
 */
import type { TroupeConfig } from '../../config/types.js';
import { runClusterRole } from '../cluster/run-role.js';
import { startTaskRole } from '../roles/task-role.js';

export async function runTask(config: TroupeConfig): Promise<void> {
  await runClusterRole(config, 'task', async (ctx, ports) => {
    const task = await startTaskRole(ctx, { log: ports.log, producer: ports.producer, lease: ports.lease, presence: ports.presence!, onJoined: (id) => ports.advertiseMember(id) });
    return {
      ready: () => task.ready(),
      evict: (memberId) => task.evict(memberId),
      drain: async () => {
        await task.stopConsuming();
        task.close();
      },
    };
  });
}
