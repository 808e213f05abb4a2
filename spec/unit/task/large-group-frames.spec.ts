/**
 * Every frame a large group produces goes through the task pool (docs/architecture.md, "Large
 * groups"): typing, read, member events and conversation announcements as well as messages,
 * in jobs keyed by conversation and pool slot, delivered in order per member. The logic node
 * (LogicBench: the real conversation actor over SQLite) looks up no presence for such a group
 * and names no member in a frame for all of them; the task node (TaskNode) reads the group once,
 * follows its changes through `members` jobs and looks presence up per job.
 */
import { expect } from 'chai';
import { slotOf } from '../../../actors/logic/member-slots.js';
import type { ConnAddress, TaskRecord } from '../../../actors/records/types.js';
import type { Presence } from '../../../transport/presence/port.js';
import { uniqueName, waitFor } from '../../support/wait-for.js';
import { GATEWAYS, LogicBench } from '../actors/logic-bench.js';
import { TaskNode } from './task-node.js';

const POOL = 4;
const CHUNK = 2;
const MEMBERS = 12;

describe('large-group frames through the task pool', function () {
  this.timeout(20_000);
  let bench: LogicBench;
  let task: TaskNode;
  /** Sizes of the presence lookups the logic node made (the task node's are not counted). */
  let logicLookups: number[];
  let conv: string;
  let members: string[];
  let conns: ConnAddress[];

  beforeEach(async function () {
    bench = await LogicBench.open();
    const presence = bench.presence;
    const lookup = presence.lookup.bind(presence);
    const taskPresence: Presence = {
      add: (user, entry, ttl) => presence.add(user, entry, ttl),
      remove: (user, connId) => presence.remove(user, connId),
      refresh: (entries, ttl) => presence.refresh(entries, ttl),
      lookup: (users) => lookup(users),
      close: async () => undefined,
    };
    logicLookups = [];
    presence.lookup = (users) => {
      logicLookups.push(users.length);
      return lookup(users);
    };
    await bench.startLogic({ largeGroupThreshold: 5, fanoutChunkSize: CHUNK, taskPoolSize: POOL, maxMembers: 100 });
    task = await TaskNode.start(bench, { gateways: GATEWAYS, presence: taskPresence });
    ({ conv, members } = await bench.group(MEMBERS));
    conns = await Promise.all(members.map((m, i) => bench.connect(m, GATEWAYS[i % GATEWAYS.length]!)));
  });

  afterEach(async function () {
    await task.close();
    await bench.close();
  });

  const request = (): { gatewayId: string; requestId: string } => ({ gatewayId: GATEWAYS[0], requestId: uniqueName('req') });
  /** Frame types (with their `user` or `seq`) one connection got, in order. */
  const seen = (conn: ConnAddress): string[] => bench.framesTo(conn).filter((f) => f.type !== 'ack').map((f) => `${f.type}:${String(f.event ?? '')}${String(f.user ?? f.seq ?? '')}`);
  const jobsOf = (type: TaskRecord['type']): Array<{ key: string; job: TaskRecord }> => task.jobs.filter((j) => j.job.type === type);

  /**
   * Every job's key names its conversation and its slot: the slot a whole-slot job names, or the
   * one slot all the users a job names are in (at most a chunk of them for a frame).
   */
  function expectSlotKeys(): void {
    for (const { key, job } of task.jobs) {
      if (job.type !== 'members' && job.wholeSlot !== undefined) {
        expect(job.members, `job ${key} names no member`).to.deep.equal([]);
        expect(key).to.equal(`${job.conv}#${job.wholeSlot.slot}`);
        continue;
      }
      const users = job.type === 'members' ? [...job.added, ...job.removed, ...job.cursors.map((c) => c.user)] : job.members;
      const slots = new Set(users.map((m) => slotOf(m, POOL)));
      expect(slots.size, `users of job ${key} share a slot`).to.equal(1);
      expect(key).to.equal(`${job.conv}#${[...slots][0]!}`);
      if (job.type !== 'members') expect(job.members.length).to.be.at.most(CHUNK);
    }
  }

  /** The members the whole-slot jobs of `type` stand for, added up. */
  const wholeSlotCount = (type: 'fanout' | 'announce'): number =>
    jobsOf(type).reduce((n, { job }) => n + (job.type !== 'members' && job.wholeSlot !== undefined ? job.wholeSlot.count : 0), 0);

  it('sends a typing signal to every other member once, through jobs per slot, leaving the typing member out, with no presence lookup on logic', async function () {
    const typer = 3;
    await bench.produce({ type: 'typing', conv, user: members[typer]!, origin: conns[typer]! });
    const others = conns.filter((_, i) => i !== typer);
    await waitFor(() => others.every((c) => bench.framesTo(c, 'typing').length === 1), { message: 'a typing frame to every other member' });
    for (const c of others) expect(bench.framesTo(c, 'typing')).to.deep.equal([{ type: 'typing', conv, user: members[typer] }]);
    expect(bench.framesTo(conns[typer]!, 'typing'), 'the typing member').to.deep.equal([]);

    const jobs = jobsOf('fanout');
    expect(wholeSlotCount('fanout'), 'one job per slot, standing for every member once').to.equal(MEMBERS);
    expect(jobs.map((j) => j.key).sort()).to.deep.equal([...new Set(members.map((m) => `${conv}#${slotOf(m, POOL)}`))].sort());
    for (const { job } of jobs) expect(job).to.deep.include({ exceptUser: members[typer], seq: 0, members: [] });
    expect(new Set(jobs.map((j) => j.key)).size, 'the group is spread over several slots').to.be.greaterThan(1);
    expectSlotKeys();
    expect(logicLookups, 'presence lookups by the logic node').to.deep.equal([]);
  });

  it('sends a read receipt to every other member through the task pool, after the message it reads, in order on every connection', async function () {
    await bench.send(conv, members[0]!, conns[0]!, 'read-me');
    await bench.waitFrames(conns[0]!, 'ack', 1);
    await bench.produce({ type: 'read', conv, user: members[1]!, origin: conns[1]!, seq: 1 });
    await waitFor(() => conns.filter((_, i) => i !== 1).every((c) => bench.framesTo(c, 'read').length === 1), { message: 'a read frame to every other member' });
    for (const [i, c] of conns.entries()) {
      if (i === 0) expect(seen(c), 'the sender').to.deep.equal([`read:${members[1]}`]);
      else if (i === 1) expect(seen(c), 'the reader').to.deep.equal(['msg:1']);
      else expect(seen(c), `member ${i}`).to.deep.equal(['msg:1', `read:${members[1]}`]);
    }
    expect(await bench.database.getMembers(conv).then((rows) => rows.find((r) => r.userId === members[1])?.readSeq)).to.equal(1);
    expectSlotKeys();
    expect(logicLookups, 'presence lookups by the logic node').to.deep.equal([]);
  });

  it('announces added members through the task pool: each member gets the conversation with its own read cursor, then one joined frame per added member, in order', async function () {
    await bench.send(conv, members[0]!, conns[0]!, 'before-add');
    await bench.waitFrames(conns[0]!, 'ack', 1);
    await bench.produce({ type: 'read', conv, user: members[5]!, origin: conns[5]!, seq: 1 });
    await waitFor(() => bench.framesTo(conns[4]!, 'read').length === 1, { message: 'the read receipt' });
    const added = [await bench.user(), await bench.user()];
    const addedConns = await Promise.all(added.map((u) => bench.connect(u, GATEWAYS[1])));

    const reply = request();
    await bench.produce({ type: 'members_add', conv, actor: members[0]!, members: added, reply });
    const answer = await bench.waitReply(reply.requestId);
    expect(answer.error).to.equal(undefined);
    expect(answer.result).to.deep.include({ id: conv, memberCount: MEMBERS + 2 });

    const everyone = [...conns, ...addedConns];
    await waitFor(() => everyone.every((c) => bench.framesTo(c, 'member').length === 2), { message: 'two joined frames to every member' });
    const joined = added.map((u) => `member:joined${u}`);
    for (const [i, c] of everyone.entries()) {
      const announced = bench.framesTo(c, 'conversation');
      expect(announced, `conversation frames to connection ${i}`).to.have.length(1);
      const conversation = announced[0]!.conversation as Record<string, unknown>;
      expect(conversation).to.include({ id: conv, memberCount: MEMBERS + 2, readSeq: i === 5 ? 1 : 0 });
      const frames = seen(c);
      expect(frames.slice(frames.indexOf('conversation:')), `connection ${i}: the conversation, then the joins in order`).to.deep.equal(['conversation:', ...joined]);
    }
    expect(wholeSlotCount('announce'), 'one announcement per slot, standing for every member').to.equal(MEMBERS + 2);
    expect(jobsOf('members').map((j) => j.job), 'the read cursor, then the joins, told to the task node').to.deep.equal([
      { type: 'members', conv, added: [], removed: [], cursors: [{ user: members[5], seq: 1 }] },
      ...[...new Set(added.map((u) => slotOf(u, POOL)))].map((slot) => ({ type: 'members', conv, added: added.filter((u) => slotOf(u, POOL) === slot), removed: [], cursors: [] })),
    ]);
    expect(task.groupReads.map((r) => r.reason), 'the task node read the group once, and followed the changes').to.deep.equal(['first use']);
    expectSlotKeys();
    expect(logicLookups, 'presence lookups by the logic node').to.deep.equal([]);
  });

  it('announces read cursors that moved while the group was small: the task node reads the group again once it is large again', async function () {
    await bench.send(conv, members[0]!, conns[0]!, 'while-large');
    await waitFor(() => conns.slice(1).every((c) => bench.framesTo(c, 'msg').length === 1), { message: 'the message everywhere' });
    expect(task.groupReads.map((r) => r.reason)).to.deep.equal(['first use']);
    // Small for a while: member 5 reads, and the read receipt goes out directly, with no job.
    bench.logicDeps!.settings.largeGroupThreshold = 100;
    const jobsBefore = task.jobs.length;
    await bench.produce({ type: 'read', conv, user: members[5]!, origin: conns[5]!, seq: 1 });
    await waitFor(() => bench.framesTo(conns[4]!, 'read').length === 1, { message: 'the read receipt, delivered directly' });
    expect(task.jobs.length, 'no job while small').to.equal(jobsBefore);
    // Large again: an added member makes every member hear of the changed conversation.
    bench.logicDeps!.settings.largeGroupThreshold = 5;
    const added = await bench.user();
    const reply = request();
    await bench.produce({ type: 'members_add', conv, actor: members[0]!, members: [added], reply });
    expect((await bench.waitReply(reply.requestId)).error).to.equal(undefined);
    await waitFor(() => conns.every((c) => bench.framesTo(c, 'conversation').length === 1), { message: 'the changed conversation to every member' });
    const announced = bench.framesTo(conns[5]!, 'conversation')[0]!.conversation as Record<string, unknown>;
    expect(announced, 'member 5 sees its own cursor, moved while the group was small').to.include({ readSeq: 1 });
    expect(task.groupReads.map((r) => r.reason), 'read again once, for the new count').to.deep.equal(['first use', 'counted again']);
  });

  it('tells every member and the one removed that a member left, and announces the change to the rest only', async function () {
    const leaver = 7;
    const reply = request();
    await bench.produce({ type: 'member_remove', conv, actor: members[0]!, user: members[leaver]!, reply });
    expect((await bench.waitReply(reply.requestId)).error).to.equal(undefined);
    await waitFor(() => conns.every((c) => bench.framesTo(c, 'member').length === 1), { message: 'a left frame to everyone' });
    await waitFor(() => conns.filter((_, i) => i !== leaver).every((c) => bench.framesTo(c, 'conversation').length === 1), { message: 'the change to the rest' });
    for (const [i, c] of conns.entries()) {
      expect(bench.framesTo(c, 'member'), `connection ${i}`).to.deep.equal([{ type: 'member', conv, event: 'left', user: members[leaver] }]);
      if (i === leaver) expect(bench.framesTo(c, 'conversation'), 'the one removed').to.deep.equal([]);
      else expect(seen(c), `connection ${i}`).to.deep.equal([`member:left${members[leaver]}`, 'conversation:']);
    }
    expectSlotKeys();
    expect(logicLookups, 'presence lookups by the logic node').to.deep.equal([]);
  });

  it('delivers a burst of messages in seq order on every connection, the slots going in parallel, and a member added meanwhile gets the later ones after its announcement', async function () {
    const newcomer = await bench.user();
    const newcomerConn = await bench.connect(newcomer, GATEWAYS[0]);
    for (let n = 1; n <= 10; n++) await bench.send(conv, members[n % 2]!, conns[n % 2]!, `burst-${n}`);
    await waitFor(() => conns.slice(2).every((c) => bench.framesTo(c, 'msg').length === 10), { message: 'ten messages everywhere' });
    await bench.produce({ type: 'members_add', conv, actor: members[0]!, members: [newcomer], reply: request() });
    await waitFor(() => bench.framesTo(newcomerConn, 'member').length === 1, { message: 'the newcomer announced' });
    await bench.send(conv, members[0]!, conns[0]!, 'burst-11');
    await waitFor(() => conns.slice(1).every((c) => bench.framesTo(c, 'msg').length >= 6 && bench.framesTo(c, 'msg').at(-1)!.seq === 11) && bench.framesTo(newcomerConn, 'msg').length === 1, { message: 'the eleventh everywhere' });

    const all = Array.from({ length: 11 }, (_, i) => i + 1);
    for (const [i, c] of conns.entries()) {
      const mine = i < 2 ? all.filter((seq) => seq % 2 !== i % 2 || (seq === 11 && i === 1)) : all;
      expect(bench.framesTo(c, 'msg').map((f) => f.seq), `connection ${i}`).to.deep.equal(i === 0 ? mine.filter((seq) => seq !== 11) : mine);
    }
    expect(seen(newcomerConn), 'the newcomer').to.deep.equal(['conversation:', `member:joined${newcomer}`, 'msg:11']);
    expect(new Set(task.jobs.map((j) => j.partition)).size, 'the slots spread over partitions').to.be.greaterThan(1);
    expectSlotKeys();
    expect(logicLookups, 'presence lookups by the logic node').to.deep.equal([]);
  });
});
