// Fault specs of the cluster mode (DESIGN.md, "Testing"): while clients on both gateways keep
// sending, a logic node and a repo node are killed with SIGKILL, and others are stopped with
// SIGTERM (drain). Afterwards a history check proves no acked message lost, no seq duplicated
// or skipped, and no reordering per sender; and the cluster still serves.
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Api, type LoggedIn, type WsClient } from '../support/client.js';
import { createGroup, fetchAllMessages } from '../support/chat.js';
import { waitFor } from '../support/wait-for.js';
import { launchLocalCluster, type RunningCluster } from './local-cluster.js';
import { checkHistory, sendThroughFaults } from './resilient-sender.js';

describe('cluster faults: nodes killed or stopped under traffic lose no acked message', function () {
  this.timeout(180_000);
  let cluster: RunningCluster;
  let gateways: [string, string];
  let http: Api;

  before(async function () {
    this.timeout(240_000);
    cluster = await launchLocalCluster(
      { gateways: 2, logic: 3, repo: 3, task: 1 },
      { logging: { level: 'warn' }, auth: { argon2: { memoryKiB: 1024, iterations: 1 } }, rpc: { deadlineMs: 2000 } },
    );
    gateways = cluster.gatewayUrls as [string, string];
    http = api(gateways[0]);
  });
  afterEach(closeAllClients);
  after(async function () {
    this.timeout(120_000);
    if (cluster !== undefined) expect(await cluster.stop(), 'local-cluster exit code').to.equal(0);
  });

  /** Four groups, each with a member on each gateway sending `count` messages while `fault` runs. */
  async function trafficThrough(fault: () => Promise<void>, label: string, count = 40): Promise<void> {
    const senders: Array<{ user: LoggedIn; client: WsClient; gateway: number }> = [];
    for (let i = 0; i < 4; i++) {
      const user = await registerAndLogin(gateways[i % 2]!);
      senders.push({ user, client: (await connect(`${gateways[i % 2]!.replace('http', 'ws')}/v1/ws?token=${encodeURIComponent(user.accessToken)}`, 15_000)).client, gateway: i % 2 });
    }
    const groups: Array<{ id: string }> = [];
    for (let g = 0; g < 4; g++) groups.push(await createGroup(http, senders[0]!.user, senders.slice(1).map((s) => s.user.user.id), `${label} ${g}`));
    let progress = 0;
    const runs = senders.flatMap((s, i) =>
      groups.map((group, g) =>
        sendThroughFaults(s.client, group.id, count, `${label}-${i}-${g}`).then((acks) => {
          progress++;
          return acks;
        }),
      ),
    );
    // Strike once traffic flows: some acks are in, most are still to come.
    await waitFor(() => senders.every((s) => s.client.count((f) => f.type === 'ack') >= 5), { timeoutMs: 30_000, message: 'traffic flowing' });
    await fault();
    const ackedByFault = senders.reduce((n, s) => n + s.client.count((f) => f.type === 'ack'), 0);
    const acks = await Promise.all(runs);
    expect(ackedByFault, 'the fault struck while messages were still being sent').to.be.lessThan(senders.length * groups.length * count);
    expect(progress).to.equal(runs.length);
    for (const [g, group] of groups.entries()) {
      const history = await fetchAllMessages(http, senders[0]!.user.accessToken, group.id);
      expect(history).to.have.length(senders.length * count);
      checkHistory(history, senders.map((_, i) => acks[i * groups.length + g]!));
    }
  }

  const pidOf = (nodeId: string): number => {
    const pid = cluster.pids.get(nodeId);
    if (pid === undefined) throw new Error(`no pid for ${nodeId}`);
    return pid;
  };
  const gone = async (pid: number): Promise<void> =>
    waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 60_000, message: `pid ${pid} ended` });

  it('SIGKILL of a logic node: its partitions move, every acked message is stored once, in order', async function () {
    await trafficThrough(async () => {
      const pid = pidOf('logic-1');
      process.kill(pid, 'SIGKILL');
      await gone(pid);
    }, 'klogic');
  });

  it('SIGTERM of a logic node: it drains, the others take over', async function () {
    await trafficThrough(async () => {
      const pid = pidOf('logic-2');
      process.kill(pid, 'SIGTERM');
      await gone(pid);
    }, 'tlogic');
  });

  it('SIGKILL of a repo node: its shards move once its lease expires, writes go on', async function () {
    await trafficThrough(async () => {
      const pid = pidOf('repo-1');
      process.kill(pid, 'SIGKILL');
      await gone(pid);
    }, 'krepo');
  });

  it('SIGTERM of a repo node: it flushes and hands its shards over', async function () {
    await trafficThrough(async () => {
      const pid = pidOf('repo-2');
      process.kill(pid, 'SIGTERM');
      await gone(pid);
    }, 'trepo');
  });
});
