/**
 * Large-group fanout (docs/architecture.md, "The send path, step by step", step 4): a logic node (LogicBench: the
 * real conversation actor over SQLite) produces fanout jobs for groups over the threshold, and
 * a task node (TaskNode: PartitionHosting of taskKind) delivers them, all on the in-process
 * log, coordinator and presence. Deliveries are read back from the gateways' downstream topics.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import type { ConnAddress } from '../../../actors/records/types.js';
import { bySlot } from '../../../actors/logic/member-slots.js';
import { TroupeError } from '../../../transport/errors.js';
import type { Producer } from '../../../transport/log/port.js';
import type { Presence } from '../../../transport/presence/port.js';
import { waitFor } from '../../support/wait-for.js';
import { LogicBench } from '../actors/logic-bench.js';
import { TaskNode, TASK_PARTITIONS } from './task-node.js';

const GATEWAYS = ['gw1', 'gw2', 'gw3'] as const;
/** How long a negative check watches: many commit intervals and fetch turns. */
const QUIET_MS = 80;

describe('large-group fanout through the task role', function () {
  this.timeout(20_000);
  let bench: LogicBench;
  let task: TaskNode | null;

  beforeEach(async function () {
    bench = await LogicBench.open();
    task = null;
  });

  afterEach(async function () {
    await task?.close();
    await bench.close();
  });

  /** One connection per member, spread round-robin over the three gateways. */
  async function connectAll(members: readonly string[]): Promise<ConnAddress[]> {
    return Promise.all(members.map((m, i) => bench.connect(m, GATEWAYS[i % GATEWAYS.length]!)));
  }

  /** msg deliveries per connection (`gatewayId/connId` → seqs in arrival order). */
  function msgsPerConn(node: TaskNode, conv: string): Map<string, number[]> {
    const seen = new Map<string, number[]>();
    for (const d of node.msgDeliveries(conv)) {
      for (const connId of d.connIds) {
        const key = `${d.gatewayId}/${connId}`;
        let seqs = seen.get(key);
        if (seqs === undefined) seen.set(key, (seqs = []));
        seqs.push(d.frame!.seq as number);
      }
    }
    return seen;
  }

  /** Records appended to the task topic so far, over every partition. */
  async function taskTopicSize(): Promise<number> {
    let sum = 0;
    for (let p = 0; p < TASK_PARTITIONS; p++) sum += Number(await bench.log.endOffset({ topic: bench.taskTopic, partition: p }));
    return sum;
  }

  it('delivers a message to a 5,000-member group through one job per pool slot naming no member: every other connection once, presence looked up a chunk at a time, one deliver record per gateway per slot, the sender acked', async function () {
    const chunkSize = 500;
    const memberCount = 5000;
    const poolSize = 4;
    await bench.startLogic({ largeGroupThreshold: 1000, fanoutChunkSize: chunkSize, taskPoolSize: poolSize });
    const lookups: number[] = [];
    const presence: Presence = {
      add: (user, entry, ttl) => bench.presence.add(user, entry, ttl),
      remove: (user, connId) => bench.presence.remove(user, connId),
      refresh: (entries, ttl) => bench.presence.refresh(entries, ttl),
      lookup: (users) => (lookups.push(users.length), bench.presence.lookup(users)),
      close: async () => undefined,
    };
    task = await TaskNode.start(bench, { gateways: GATEWAYS, presence, chunkSize });
    const { conv, members } = await bench.group(memberCount);
    const conns = await connectAll(members);
    const sender = conns[0]!;
    const slots = bySlot(members, poolSize);

    const position = await bench.send(conv, members[0]!, sender, 'big-1', 'hello everyone');
    const [ack] = await bench.waitFrames(sender, 'ack', 1);
    expect(ack).to.include({ type: 'ack', id: 'big-1', conv, seq: 1 });
    await waitFor(() => msgsPerConn(task!, conv).size >= memberCount - 1, { message: `${memberCount - 1} connections reached`, timeoutMs: 15_000 });
    await bench.waitHandled(position);
    // Every job is finished: the task group committed past all of them.
    await waitFor(() => task!.jobs.length === poolSize, { message: `${poolSize} jobs recorded` });
    for (const { partition } of task.jobs) {
      const onPartition = task.jobs.filter((j) => j.partition === partition).length;
      await waitFor(async () => Number((await task!.committed(partition)) ?? 0) === onPartition, { message: `every job of partition ${partition} committed` });
    }

    const perConn = msgsPerConn(task, conv);
    expect(perConn.size, 'connections reached').to.equal(memberCount - 1);
    for (const conn of conns.slice(1)) {
      expect(perConn.get(`${conn.gatewayId}/${conn.connId}`), `msgs to ${conn.gatewayId}/${conn.connId}`).to.deep.equal([1]);
    }
    expect(perConn.has(`${sender.gatewayId}/${sender.connId}`), 'the sending connection gets no msg').to.equal(false);
    const stored = (await bench.database.listMessages(conv, 0, 1)).messages[0]!;
    const expected = { type: 'msg', conv, seq: 1, id: 'big-1', from: members[0], body: { text: 'hello everyone' }, ts: stored.ts };
    for (const d of task.msgDeliveries(conv)) expect(d.frame).to.deep.equal(expected);
    for (const gw of GATEWAYS) {
      expect(task.msgDeliveries(conv).filter((d) => d.gatewayId === gw), `deliver records on ${gw}`).to.have.length(poolSize);
    }
    expect(lookups.every((n) => n <= chunkSize), 'no lookup over a chunk').to.equal(true);
    expect(lookups.reduce((a, b) => a + b, 0), 'every member looked up once').to.equal(memberCount);
    expect(lookups, 'a chunk per lookup').to.have.length(slots.reduce((n, s) => n + Math.ceil(s.length / chunkSize), 0));

    // The logic node produced one job per slot, carrying the slot's digest and no member id; the
    // task node read the group from the store once.
    expect(await taskTopicSize(), 'jobs on the task topic').to.equal(poolSize);
    expect(task.jobs.map((j) => j.key).sort()).to.deep.equal(slots.map((_, slot) => `${conv}#${slot}`));
    for (const { key, job } of task.jobs) {
      if (job.type !== 'fanout') throw new Error(`a fanout job was expected, got ${job.type}`);
      const slot = Number(key.split('#')[1]);
      expect(job).to.deep.include({ conv, seq: 1, members: [], except: sender });
      expect(job.wholeSlot).to.include({ slot, poolSize, count: slots[slot]!.length });
    }
    expect(task.groupReads).to.deep.equal([{ conv, reason: 'first use', count: memberCount }]);
  });

  it('delivers a message to a group at or under the threshold directly, producing no fanout job', async function () {
    await bench.startLogic({ largeGroupThreshold: 3, fanoutChunkSize: 1 });
    task = await TaskNode.start(bench, { gateways: GATEWAYS });
    const { conv, members } = await bench.group(3);
    const conns = await connectAll(members);

    const position = await bench.send(conv, members[0]!, conns[0]!, 'small-1');
    await bench.waitFrames(conns[0]!, 'ack', 1);
    await waitFor(() => msgsPerConn(task!, conv).size === 2, { message: 'both other members reached' });
    await bench.waitHandled(position); // a job would have been produced before the record was finished

    expect(await taskTopicSize(), 'jobs on the task topic').to.equal(0);
    const records = task.msgDeliveries(conv).map((d) => [d.gatewayId, d.connIds]);
    expect(records.sort(), 'one deliver record per gateway').to.deep.equal([
      ['gw2', [conns[1]!.connId]],
      ['gw3', [conns[2]!.connId]],
    ]);
  });

  it('applies a threshold changed at run time to the next message', async function () {
    await bench.startLogic({ largeGroupThreshold: 10, fanoutChunkSize: 2 });
    task = await TaskNode.start(bench, { gateways: GATEWAYS });
    const { conv, members } = await bench.group(6);
    const conns = await connectAll(members);

    const first = await bench.send(conv, members[0]!, conns[0]!, 'before');
    await bench.waitHandled(first);
    expect(await taskTopicSize(), 'jobs before the change').to.equal(0);

    bench.logicDeps!.settings.largeGroupThreshold = 5;
    const second = await bench.send(conv, members[0]!, conns[0]!, 'after');
    await bench.waitHandled(second);
    expect(await taskTopicSize(), 'jobs after the change: one for the one pool slot').to.equal(1);
    await waitFor(() => [...msgsPerConn(task!, conv).values()].filter((seqs) => seqs.length === 2).length === 5, { message: 'both messages everywhere' });
  });

  it("delivers one conversation's jobs in seq order to every connection", async function () {
    await bench.startLogic({ largeGroupThreshold: 5, fanoutChunkSize: 4 });
    task = await TaskNode.start(bench, { gateways: GATEWAYS });
    const { conv, members } = await bench.group(12);
    const conns = await connectAll(members);
    for (let i = 1; i <= 4; i++) await bench.send(conv, members[i % 2]!, conns[i % 2]!, `ordered-${i}`);

    // Members 2..11 get all four messages; members 0 and 1 get the other's two.
    const total = (): number => [...msgsPerConn(task!, conv).values()].reduce((sum, seqs) => sum + seqs.length, 0);
    await waitFor(() => total() === 10 * 4 + 2 * 2, { message: 'every message to every other connection' });
    const perConn = msgsPerConn(task, conv);
    for (const conn of conns.slice(2)) expect(perConn.get(`${conn.gatewayId}/${conn.connId}`)).to.deep.equal([1, 2, 3, 4]);
    expect(perConn.get(`${conns[0]!.gatewayId}/${conns[0]!.connId}`), 'member 0 gets only the others’ messages').to.deep.equal([1, 3]);
    expect(new Set(task.jobs.map((j) => j.partition)).size, 'one partition holds the conversation’s jobs').to.equal(1);
  });

  it('finishes a job (commits past it) only once its deliveries are produced', async function () {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let heldSends = 0;
    const inner = bench.log.producer();
    const gated: Producer = {
      send: async (topic, records) => {
        heldSends++;
        await gate;
        return inner.send(topic, records);
      },
      close: () => inner.close(),
    };
    await bench.startLogic({ largeGroupThreshold: 5, fanoutChunkSize: 4 });
    task = await TaskNode.start(bench, { gateways: GATEWAYS, producer: gated });
    const { conv, members } = await bench.group(12);
    const conns = await connectAll(members);

    await bench.send(conv, members[0]!, conns[0]!, 'gated');
    await waitFor(() => task!.jobs.length === 1 && heldSends > 0, { message: 'the job produced and its delivery held' });
    const { partition } = task.jobs[0]!;
    await delay(QUIET_MS);
    expect(Number((await task.committed(partition)) ?? 0), 'nothing committed while deliveries are held').to.equal(0);
    expect(task.msgDeliveries(conv)).to.deep.equal([]);

    release();
    await waitFor(async () => Number((await task!.committed(partition)) ?? 0) === 1, { message: 'the job committed' });
    expect(msgsPerConn(task, conv).size, 'connections reached').to.equal(11);
    await inner.close();
  });

  it('retries a job whose members the repo could not give, and delivers it once when the repo is back', async function () {
    const failures = [1, 2].map(() => new TroupeError('unavailable', 'repo down'));
    const store = Object.create(bench.store) as typeof bench.store;
    store.getMembers = async (conv) => {
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return bench.store.getMembers(conv);
    };
    await bench.startLogic({ largeGroupThreshold: 5, fanoutChunkSize: 12 });
    task = await TaskNode.start(bench, { gateways: GATEWAYS, store });
    const { conv, members } = await bench.group(12);
    const conns = await connectAll(members);
    await bench.send(conv, members[0]!, conns[0]!, 'after-a-blip');

    await waitFor(async () => task!.jobs.length === 1 && Number((await task!.committed(task!.jobs[0]!.partition)) ?? 0) === 1, { message: 'the job committed' });
    expect(failures, 'every failure was met').to.deep.equal([]);
    expect(task.logs.filter((l) => l.message === 'fanout job failed; retrying').map((l) => l.meta?.error)).to.deep.equal(['repo down', 'repo down']);
    expect([...msgsPerConn(task, conv).values()], 'each other connection once').to.deep.equal(Array(11).fill([1]));
  });

  describe('when presence fails', function () {
    /** The bench's presence, whose next lookups throw the queued errors, one each. */
    function failingPresence(failures: TroupeError[]): Presence {
      const presence = bench.presence;
      return {
        add: (user, entry, ttl) => presence.add(user, entry, ttl),
        remove: (user, connId) => presence.remove(user, connId),
        refresh: (entries, ttl) => presence.refresh(entries, ttl),
        lookup: async (users) => {
          const failure = failures.shift();
          if (failure !== undefined) throw failure;
          return presence.lookup(users);
        },
        close: async () => undefined,
      };
    }

    it('retries a job that failed with a retriable error until it is delivered, once', async function () {
      const failures = [1, 2, 3].map(() => new TroupeError('unavailable', 'presence down'));
      await bench.startLogic({ largeGroupThreshold: 5, fanoutChunkSize: 12 });
      task = await TaskNode.start(bench, { gateways: GATEWAYS, presence: failingPresence(failures) });
      const { conv, members } = await bench.group(12);
      const conns = await connectAll(members);
      await bench.send(conv, members[0]!, conns[0]!, 'retried');

      await waitFor(async () => task!.jobs.length === 1 && Number((await task!.committed(task!.jobs[0]!.partition)) ?? 0) === 1, { message: 'the job committed' });
      expect(failures, 'every failure was met').to.deep.equal([]);
      expect(task.logs.filter((l) => l.message === 'fanout job failed; retrying')).to.have.length(3);
      expect([...msgsPerConn(task, conv).values()], 'each other connection once').to.deep.equal(Array(11).fill([1]));
    });

    it('leaves a job still failing at shutdown uncommitted, and the next node delivers it', async function () {
      let down = true;
      const presence = failingPresence([]);
      const lookup = presence.lookup.bind(presence);
      presence.lookup = async (users) => {
        if (down) throw new TroupeError('unavailable', 'presence down');
        return lookup(users);
      };
      await bench.startLogic({ largeGroupThreshold: 5, fanoutChunkSize: 12 });
      const first = await TaskNode.start(bench, { gateways: GATEWAYS, presence, drainTimeoutMs: 50 });
      const { conv, members } = await bench.group(12);
      const conns = await connectAll(members);
      await bench.send(conv, members[0]!, conns[0]!, 'replayed');
      await waitFor(() => first.logs.some((l) => l.message === 'fanout job failed; retrying'), { message: 'the job failing' });
      const { partition } = first.jobs[0]!;

      await first.close(); // the drain times out: the job is abandoned
      expect(Number((await bench.log.committedOffset(first.group, { topic: bench.taskTopic, partition })) ?? 0), 'the job stays uncommitted').to.equal(0);
      expect(first.msgDeliveries(conv)).to.deep.equal([]);
      const retries = (): number => first.logs.filter((l) => l.message === 'fanout job failed; retrying').length;
      // An attempt already under way at close may still log its failure: let it settle first.
      await delay(QUIET_MS);
      const retriedBefore = retries();
      await delay(QUIET_MS);
      expect(retries(), 'the stopped worker retries no more').to.equal(retriedBefore);

      down = false;
      task = await TaskNode.start(bench, { gateways: GATEWAYS, presence, group: first.group });
      await waitFor(async () => Number((await task!.committed(partition)) ?? 0) === 1, { message: 'the job committed by the next node' });
      expect([...msgsPerConn(task, conv).values()], 'each other connection once').to.deep.equal(Array(11).fill([1]));
    });

    it('drops a job that failed for good, logs it, and goes on with the next', async function () {
      const failures = [new TroupeError('internal', 'presence broken')];
      await bench.startLogic({ largeGroupThreshold: 5, fanoutChunkSize: 12 });
      task = await TaskNode.start(bench, { gateways: GATEWAYS, presence: failingPresence(failures) });
      const { conv, members } = await bench.group(12);
      const conns = await connectAll(members);
      await bench.send(conv, members[0]!, conns[0]!, 'dropped');
      await bench.send(conv, members[0]!, conns[0]!, 'delivered');

      await waitFor(async () => task!.jobs.length === 2 && Number((await task!.committed(task!.jobs[0]!.partition)) ?? 0) === 2, { message: 'both jobs committed' });
      expect(task.logs.filter((l) => l.level === 'error').map((l) => [l.message, l.meta?.seq])).to.deep.equal([
        ['fanout job dropped; its members catch up on sync', 1],
      ]);
      expect([...msgsPerConn(task, conv).values()], 'only the second message pushed').to.deep.equal(Array(11).fill([2]));
    });
  });
});
