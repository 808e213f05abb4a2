/**
 * Failure paths of the logic actors on a logic node wired as in embedded mode (logic-bench.ts),
 * with a store and a presence that fail or hang on cue: whatever fails, the requester is
 * answered, the partition's commit point moves on, and traffic on the same partition continues.
 */
import { expect } from 'chai';
import { newId } from '../../../actors/ids.js';
import type { ConnAddress } from '../../../actors/records/types.js';
import { TroupeError } from '../../../transport/errors.js';
import { partitionFor } from '../../../transport/log/partitioner.js';
import type { RecordPosition } from '../../../transport/log/port.js';
import { waitFor } from '../../support/wait-for.js';
import { failNext, GATEWAYS, HANG, LogicBench, PASS } from './logic-bench.js';

const [GW1] = GATEWAYS;
const UPSTREAM_PARTITIONS = 4;
const down = (): TroupeError => new TroupeError('unavailable', 'dependency down');

describe('logic actors when a dependency fails', function () {
  let bench: LogicBench;

  afterEach(async function () {
    await bench.close();
  });

  async function start(recordDeadlineMs?: number): Promise<void> {
    bench = await LogicBench.open();
    await bench.startLogic(recordDeadlineMs === undefined ? {} : { recordDeadlineMs });
  }

  /** Another group, with the same sender, whose conversation id lands on `partition`. */
  async function groupOnPartition(partition: number, owner: string): Promise<string> {
    for (;;) {
      const { conv } = await bench.group(1);
      if (partitionFor(conv, UPSTREAM_PARTITIONS) === partition) {
        await bench.database.addMembers(conv, [owner], Date.now(), { unit: 'spec/fixtures', epoch: 1 }); // a fixture, as no partition's actor
        return conv;
      }
    }
  }

  /** After a failure on `position`'s partition, the commit moves past it and a send there is acked. */
  async function partitionStillServes(position: RecordPosition, sender: string, conn: ConnAddress): Promise<void> {
    await bench.waitHandled(position);
    const other = await groupOnPartition(position.partition, sender);
    await bench.send(other, sender, conn, 'behind-the-failure');
    await waitFor(() => bench.framesTo(conn, 'ack').some((f) => f.id === 'behind-the-failure'), { message: 'the ack of a later send on the same partition' });
  }

  it('acks a message whose write was durable when the presence lookup after it failed, stored once', async function () {
    await start();
    const { conv, members } = await bench.group(2);
    const conn = await bench.connect(members[0]!, GW1);
    failNext(bench.presenceFailures, 'lookup', down());
    const position = await bench.send(conv, members[0]!, conn, 'durable-first');
    const [ack] = await bench.waitFrames(conn, 'ack', 1);
    expect(ack).to.include({ id: 'durable-first', seq: 1 });
    expect((await bench.database.listMessages(conv, 0, 10)).messages.map((m) => m.clientId), 'stored once').to.deep.equal(['durable-first']);
    expect(bench.framesTo(conn, 'error')).to.deep.equal([]);

    await bench.send(conv, members[0]!, conn, 'next');
    const acks = await bench.waitFrames(conn, 'ack', 2);
    expect(acks[1]).to.include({ id: 'next', seq: 2 });
    await partitionStillServes(position, members[0]!, conn);
  });

  it('delivers a message whose write was durable though its answer was lost (the retry finds it stored), once', async function () {
    await start();
    const { conv, members } = await bench.group(2);
    const sender = await bench.connect(members[0]!, GW1);
    const reader = await bench.connect(members[1]!, GW1);
    failNext(bench.storeFailures, 'appendMessages', { after: down() });
    await bench.send(conv, members[0]!, sender, 'answer-lost');
    const [ack] = await bench.waitFrames(sender, 'ack', 1);
    expect(ack).to.include({ id: 'answer-lost', seq: 1 });
    const [msg] = await bench.waitFrames(reader, 'msg', 1);
    expect(msg).to.include({ conv, seq: 1 });
    expect((await bench.database.listMessages(conv, 0, 10)).messages.map((m) => m.clientId), 'stored once').to.deep.equal(['answer-lost']);
    await bench.send(conv, members[0]!, sender, 'next');
    await bench.waitFrames(reader, 'msg', 2);
    expect(bench.framesTo(reader, 'msg').map((f) => f.seq), 'each delivered once, in order').to.deep.equal([1, 2]);
  });

  it('takes a send again on a fresh actor when loading the conversation throws, and acks it', async function () {
    await start();
    const { conv, members } = await bench.group(2);
    const conn = await bench.connect(members[0]!, GW1);
    failNext(bench.storeFailures, 'getConversation', down());
    await bench.send(conv, members[0]!, conn, 'after-a-failed-load');
    const [ack] = await bench.waitFrames(conn, 'ack', 1);
    expect(ack).to.include({ id: 'after-a-failed-load', seq: 1 });
  });

  it('answers a send unavailable (with its ref) when loading keeps failing, and moves on', async function () {
    await start();
    const { conv, members } = await bench.group(2);
    const conn = await bench.connect(members[0]!, GW1);
    failNext(bench.storeFailures, 'getConversation', down(), down(), down());
    const position = await bench.send(conv, members[0]!, conn, 'never-loaded');
    const [error] = await bench.waitFrames(conn, 'error', 1);
    expect(error).to.include({ code: 'unavailable', ref: 'never-loaded' });
    expect((await bench.database.listMessages(conv, 0, 10)).messages).to.deep.equal([]);
    await partitionStillServes(position, members[0]!, conn);

    await bench.send(conv, members[0]!, conn, 'never-loaded'); // the client's re-send
    await waitFor(() => bench.framesTo(conn, 'ack').some((f) => f.id === 'never-loaded'), { message: 'the re-send acked' });
  });

  it('recovers when reloading after a write conflict throws: the send is acked once, with no gap', async function () {
    await start();
    const { conv, members } = await bench.group(2);
    const conn = await bench.connect(members[0]!, GW1);
    await bench.send(conv, members[0]!, conn, 'first');
    await bench.waitFrames(conn, 'ack', 1);
    bench.appendFailures.push(new TroupeError('conflict', 'duplicate key'));
    failNext(bench.storeFailures, 'getConversation', down()); // the reload in the conflict branch
    await bench.send(conv, members[0]!, conn, 'second');
    const acks = await bench.waitFrames(conn, 'ack', 2);
    expect(acks.map((a) => [a.id, a.seq])).to.deep.equal([
      ['first', 1],
      ['second', 2],
    ]);
    expect((await bench.database.listMessages(conv, 0, 10)).messages.map((m) => [m.seq, m.clientId])).to.deep.equal([
      [1, 'first'],
      [2, 'second'],
    ]);
  });

  it('refuses a read whose cursor write keeps failing with internal (and its ref), and the conversation goes on', async function () {
    await start();
    const { conv, members } = await bench.group(2);
    const conn = await bench.connect(members[0]!, GW1);
    await bench.send(conv, members[0]!, conn, 'to-read');
    await bench.waitFrames(conn, 'ack', 1);
    const bug = (): TroupeError => new TroupeError('internal', 'cursor table broken');
    failNext(bench.storeFailures, 'advanceReadSeq', bug(), bug(), bug());
    const position = await bench.produce({ type: 'read', conv, user: members[0]!, origin: conn, seq: 1, ref: 'read-1' });
    const [error] = await bench.waitFrames(conn, 'error', 1);
    expect(error).to.include({ code: 'internal', ref: 'read-1' });
    expect(error!.message).to.match(/^internal error \(upstream\/\d+@\d+\)$/);
    await partitionStillServes(position, members[0]!, conn);
  });

  it('answers a member change unavailable when the store keeps failing', async function () {
    await start();
    const { conv, members } = await bench.group(1);
    const newcomer = await bench.user();
    failNext(bench.storeFailures, 'getUsers', down(), down(), down());
    await bench.produce({ type: 'members_add', conv, actor: members[0]!, members: [newcomer], reply: { gatewayId: GW1, requestId: 'add-1' } });
    const reply = await bench.waitReply('add-1');
    expect(reply.error).to.deep.include({ code: 'unavailable' });
    expect((await bench.database.getMembers(conv)).map((m) => m.userId)).to.deep.equal([members[0]]);
  });

  it('gives up on a handler that hangs: the requester hears unavailable, the record is parked, the partition commits past it', async function () {
    await start(200);
    const { conv, members } = await bench.group(2);
    const conn = await bench.connect(members[0]!, GW1);
    await bench.send(conv, members[0]!, conn, 'warm-up'); // loads the conversation first
    await bench.waitFrames(conn, 'ack', 1);
    failNext(bench.presenceFailures, 'lookup', HANG, HANG, HANG);
    const position = await bench.produce({ type: 'typing', conv, user: members[0]!, origin: conn, ref: 'typing-1' });
    const [error] = await bench.waitFrames(conn, 'error', 1);
    expect(error).to.include({ code: 'unavailable', ref: 'typing-1' });
    await partitionStillServes(position, members[0]!, conn);
    const parked = await bench.metrics.recordsParked.get();
    expect(parked.values.find((v) => v.labels.kind === 'conversation')?.value).to.equal(1);
  });

  it('rebuilds a session actor whose presence lookup failed, and still tells the peer', async function () {
    await start();
    const [alice, bob] = [await bench.user(), await bench.user()];
    await bench.direct(alice, bob);
    const bob1 = await bench.connect(bob, GW1);
    const alice1 = await bench.connect(alice, GW1, newId('k'));
    failNext(bench.presenceFailures, 'lookup', down(), PASS);
    await bench.waitHandled(await bench.produce({ type: 'online', user: alice, origin: alice1 }));
    await waitFor(() => bench.framesTo(bob1, 'presence').length === 1, { message: 'the presence frame' });
    expect(bench.framesTo(bob1, 'presence')[0]).to.include({ user: alice, online: true });
  });
});
