/**
 * The conversation actor (actors/conversation/conversation-actor.ts) on a logic node wired as
 * in embedded mode (logic-bench.ts): seqs, durable acks, de-duplication across passivation
 * and restarts, membership checks, delivery, read cursors, membership changes, and what a
 * failed write does.
 */
import { expect } from 'chai';
import { TroupeError } from '../../../transport/errors.js';
import { waitFor } from '../../support/wait-for.js';
import { GATEWAYS, LogicBench } from './logic-bench.js';

const [GW1, GW2] = GATEWAYS;

describe('ConversationActor', function () {
  let bench: LogicBench;

  beforeEach(async function () {
    bench = await LogicBench.open();
    await bench.startLogic();
  });

  afterEach(async function () {
    await bench.close();
  });

  describe('sending', function () {
    it('gives concurrent senders seqs 1..N without gap or duplicate, each sender in its order', async function () {
      const { conv, members } = await bench.group(3);
      const conns = await Promise.all(members.map((m) => bench.connect(m, GW1)));
      const perSender = 15;
      await Promise.all(
        members.map(async (from, s) => {
          for (let i = 0; i < perSender; i++) await bench.send(conv, from, conns[s]!, `s${s}-m${i}`);
        }),
      );
      const total = members.length * perSender;
      await waitFor(() => bench.ackChecks.length === total, { message: `${total} acks` });

      const stored = (await bench.database.listMessages(conv, 0, 1000)).messages;
      expect(stored.map((m) => m.seq)).to.deep.equal(Array.from({ length: total }, (_, i) => i + 1));
      for (const [s, conn] of conns.entries()) {
        const acks = bench.framesTo(conn, 'ack').map((f) => ({ id: f.id, seq: f.seq as number }));
        expect(acks.map((a) => a.id), `acks of sender ${s}`).to.deep.equal(Array.from({ length: perSender }, (_, i) => `s${s}-m${i}`));
        const seqs = acks.map((a) => a.seq);
        expect(seqs, `sender ${s} accepted in the order sent`).to.deep.equal([...seqs].sort((a, b) => a - b));
        for (const ack of acks) expect(stored[ack.seq - 1]!.clientId).to.equal(ack.id);
      }
      expect((await bench.database.getConversation(conv))?.lastSeq).to.equal(total);
    });

    it('acks only once the message is in the database', async function () {
      bench.appendDelayMs = 30; // a slow disk: an early ack would be read before the row exists
      const { conv, members } = await bench.group(2);
      const conn = await bench.connect(members[0]!, GW1);
      for (let i = 0; i < 5; i++) await bench.send(conv, members[0]!, conn, `durable-${i}`);
      await waitFor(() => bench.ackChecks.length === 5, { message: 'five acks' });
      expect(bench.ackChecks.map((c) => c.stored)).to.deep.equal([true, true, true, true, true]);
    });

    it('answers a re-send (same sender and client id) with an identical ack and stores nothing', async function () {
      const { conv, members } = await bench.group(2);
      const [a, b] = members as [string, string];
      const a1 = await bench.connect(a, GW1);
      const a2 = await bench.connect(a, GW2);
      const b1 = await bench.connect(b, GW1);
      await bench.send(conv, a, a1, 'once');
      const [first] = await bench.waitFrames(a1, 'ack', 1);

      await bench.send(conv, a, a2, 'once'); // the same message again, from another connection
      await bench.send(conv, a, a1, 'next');
      const [again] = await bench.waitFrames(a2, 'ack', 1);
      expect(again).to.deep.equal(first);
      const acks = await bench.waitFrames(a1, 'ack', 2);
      expect(acks[1]!.seq, 'no seq was spent on the re-send').to.equal(2);
      expect((await bench.database.listMessages(conv, 0, 10)).messages.map((m) => m.clientId)).to.deep.equal(['once', 'next']);
      await bench.waitFrames(b1, 'msg', 2);
      expect(bench.framesTo(b1, 'msg').map((f) => f.id), 'the re-send is not delivered again').to.deep.equal(['once', 'next']);
    });

    it('answers a re-send that arrives while the first is being written with the same ack', async function () {
      bench.appendDelayMs = 40;
      const { conv, members } = await bench.group(2);
      const a1 = await bench.connect(members[0]!, GW1);
      const a2 = await bench.connect(members[0]!, GW2);
      await bench.send(conv, members[0]!, a1, 'twice');
      await bench.send(conv, members[0]!, a2, 'twice');
      const [first] = await bench.waitFrames(a1, 'ack', 1);
      const [second] = await bench.waitFrames(a2, 'ack', 1);
      expect(second).to.deep.equal(first);
      expect((await bench.database.listMessages(conv, 0, 10)).messages).to.have.length(1);
    });

    it('treats the same client id from another sender as another message', async function () {
      const { conv, members } = await bench.group(2);
      const a1 = await bench.connect(members[0]!, GW1);
      const b1 = await bench.connect(members[1]!, GW1);
      await bench.send(conv, members[0]!, a1, 'shared-id');
      await bench.waitFrames(a1, 'ack', 1);
      await bench.send(conv, members[1]!, b1, 'shared-id');
      const [ack] = await bench.waitFrames(b1, 'ack', 1);
      expect(ack!.seq).to.equal(2);
    });

    it('refuses a send from a non-member with not_found, naming the client id as ref', async function () {
      const { conv } = await bench.group(2);
      const outsider = await bench.user();
      const conn = await bench.connect(outsider, GW1);
      await bench.send(conv, outsider, conn, 'intruding');
      const [error] = await bench.waitFrames(conn, 'error', 1);
      expect(error).to.include({ type: 'error', code: 'not_found', ref: 'intruding' });
      expect(bench.framesTo(conn, 'ack')).to.deep.equal([]);
      expect((await bench.database.listMessages(conv, 0, 10)).messages).to.deep.equal([]);
    });

    it("pushes the message to every member's connections except the sending one", async function () {
      const { conv, members } = await bench.group(2);
      const [a, b] = members as [string, string];
      const a1 = await bench.connect(a, GW1);
      const a2 = await bench.connect(a, GW2);
      const b1 = await bench.connect(b, GW1);
      const outsider = await bench.user();
      const c1 = await bench.connect(outsider, GW1);
      await bench.send(conv, a, a1, 'hello', 'hello there');

      const [toB] = await bench.waitFrames(b1, 'msg', 1);
      const [toA2] = await bench.waitFrames(a2, 'msg', 1);
      const stored = (await bench.database.listMessages(conv, 0, 1)).messages[0]!;
      const expected = { type: 'msg', conv, seq: 1, id: 'hello', from: a, body: { text: 'hello there' }, ts: stored.ts };
      expect(toB).to.deep.equal(expected);
      expect(toA2).to.deep.equal(expected);
      // gw1's topic has one partition: the ack and b1's msg came in one flush, so a1 and c1 are complete.
      expect(bench.framesTo(a1).map((f) => f.type), 'the sending connection gets only its ack').to.deep.equal(['ack']);
      expect(bench.framesTo(c1), 'a non-member gets nothing').to.deep.equal([]);
    });
  });

  describe('read cursors and typing', function () {
    it('moves a read cursor forward only and tells the other members', async function () {
      const { conv, members } = await bench.group(2);
      const [a, b] = members as [string, string];
      const a1 = await bench.connect(a, GW1);
      const b1 = await bench.connect(b, GW1);
      for (let i = 0; i < 3; i++) await bench.send(conv, a, a1, `m${i}`);
      await bench.waitFrames(a1, 'ack', 3);

      await bench.produce({ type: 'read', conv, user: b, origin: b1, seq: 2 });
      await bench.waitFrames(a1, 'read', 1);
      await bench.produce({ type: 'read', conv, user: b, origin: b1, seq: 1 }); // backwards: ignored
      await bench.produce({ type: 'read', conv, user: b, origin: b1, seq: 99 }); // beyond the last seq: clamped
      const reads = await bench.waitFrames(a1, 'read', 2);
      expect(reads).to.deep.equal([
        { type: 'read', conv, user: b, seq: 2 },
        { type: 'read', conv, user: b, seq: 3 },
      ]);
      expect(bench.framesTo(b1, 'read'), 'the reader is not told of its own cursor').to.deep.equal([]);
      expect((await bench.database.getMember(conv, b))?.readSeq).to.equal(3);
    });

    it('refuses a read or typing from a non-member with not_found and the frame ref', async function () {
      const { conv } = await bench.group(2);
      const outsider = await bench.user();
      const conn = await bench.connect(outsider, GW1);
      await bench.produce({ type: 'read', conv, user: outsider, origin: conn, seq: 1, ref: 'read-ref' });
      await bench.produce({ type: 'typing', conv, user: outsider, origin: conn, ref: 'typing-ref' });
      const errors = await bench.waitFrames(conn, 'error', 2);
      expect(errors.map((e) => [e.code, e.ref])).to.deep.equal([['not_found', 'read-ref'], ['not_found', 'typing-ref']]);
    });

    it('passes typing to the other members only', async function () {
      const { conv, members } = await bench.group(2);
      const [a, b] = members as [string, string];
      const a1 = await bench.connect(a, GW1);
      const b1 = await bench.connect(b, GW1);
      await bench.produce({ type: 'typing', conv, user: a, origin: a1 });
      const [typing] = await bench.waitFrames(b1, 'typing', 1);
      expect(typing).to.deep.equal({ type: 'typing', conv, user: a });
      expect(bench.framesTo(a1)).to.deep.equal([]);
    });
  });

  describe('membership changes', function () {
    const reply = (requestId: string): { gatewayId: string; requestId: string } => ({ gatewayId: GW1, requestId });

    it('refuses members_add from a non-owner (forbidden), a non-member (not_found), on a direct conversation (invalid_argument) and of an unknown user (not_found)', async function () {
      const { conv, members } = await bench.group(2);
      const [owner, member] = members as [string, string];
      const outsider = await bench.user();
      const direct = await bench.direct(owner, outsider);
      const newcomer = await bench.user();
      await bench.produce({ type: 'members_add', conv, actor: member, members: [newcomer], reply: reply('r-forbidden') });
      await bench.produce({ type: 'members_add', conv, actor: outsider, members: [newcomer], reply: reply('r-outsider') });
      await bench.produce({ type: 'members_add', conv: direct, actor: owner, members: [newcomer], reply: reply('r-direct') });
      await bench.produce({ type: 'members_add', conv, actor: owner, members: ['u_nobody'], reply: reply('r-unknown') });
      expect((await bench.waitReply('r-forbidden')).error?.code).to.equal('forbidden');
      expect((await bench.waitReply('r-outsider')).error?.code).to.equal('not_found');
      const direct400 = (await bench.waitReply('r-direct')).error;
      expect(direct400?.code).to.equal('invalid_argument');
      expect(direct400?.message.startsWith('members:'), direct400?.message).to.equal(true);
      expect((await bench.waitReply('r-unknown')).error?.code).to.equal('not_found');
      expect((await bench.database.getMembers(conv)).map((m) => m.userId)).to.deep.equal([owner, member]);
    });

    it('adds members for the owner: replies with the conversation, sends every member the new member list and joined', async function () {
      const { conv, members } = await bench.group(2);
      const [owner, member] = members as [string, string];
      const newcomer = await bench.user();
      const o1 = await bench.connect(owner, GW1);
      const m1 = await bench.connect(member, GW2);
      const n1 = await bench.connect(newcomer, GW1);
      await bench.produce({ type: 'members_add', conv, actor: owner, members: [newcomer, member], reply: reply('r-add') });
      const answer = await bench.waitReply('r-add');
      expect(answer.error).to.equal(undefined);
      expect(answer.result).to.deep.include({ id: conv, type: 'group', owner, members: [owner, member, newcomer], memberCount: 3 });

      for (const conn of [o1, m1, n1]) {
        const [conversation] = await bench.waitFrames(conn, 'conversation', 1);
        expect(conversation!.conversation).to.deep.include({ id: conv, members: [owner, member, newcomer], memberCount: 3 });
        const [joined] = await bench.waitFrames(conn, 'member', 1);
        expect(joined).to.deep.equal({ type: 'member', conv, event: 'joined', user: newcomer });
      }
      expect(bench.framesTo(o1, 'member'), 'the member already in the group is not announced again').to.have.length(1);
      expect((await bench.database.getMembers(conv)).map((m) => m.userId)).to.deep.equal([owner, member, newcomer]);
    });

    it('refuses member_remove of another member by a non-owner (forbidden), by a non-member and of a non-member (not_found), and on a direct conversation (invalid_argument)', async function () {
      const { conv, members } = await bench.group(3);
      const [owner, member, third] = members as [string, string, string];
      const outsider = await bench.user();
      const direct = await bench.direct(owner, outsider);
      await bench.produce({ type: 'member_remove', conv, actor: member, user: third, reply: reply('r-forbidden') });
      await bench.produce({ type: 'member_remove', conv, actor: outsider, user: third, reply: reply('r-outsider') });
      await bench.produce({ type: 'member_remove', conv, actor: owner, user: outsider, reply: reply('r-absent') });
      await bench.produce({ type: 'member_remove', conv: direct, actor: owner, user: outsider, reply: reply('r-direct') });
      expect((await bench.waitReply('r-forbidden')).error?.code).to.equal('forbidden');
      expect((await bench.waitReply('r-outsider')).error?.code).to.equal('not_found');
      expect((await bench.waitReply('r-absent')).error?.code).to.equal('not_found');
      expect((await bench.waitReply('r-direct')).error?.code).to.equal('invalid_argument');
      expect((await bench.database.getMembers(conv)).map((m) => m.userId)).to.deep.equal([owner, member, third]);
    });

    it('lets a member leave: replies null, tells the remaining members and the leaver, and sends the remaining the new member list', async function () {
      const { conv, members } = await bench.group(3);
      const [owner, member, leaver] = members as [string, string, string];
      const conns = await Promise.all([owner, member, leaver].map((u) => bench.connect(u, GW1)));
      await bench.produce({ type: 'member_remove', conv, actor: leaver, user: leaver, reply: reply('r-leave') });
      const answer = await bench.waitReply('r-leave');
      expect(answer).to.deep.equal({ gatewayId: GW1, requestId: 'r-leave', result: null });
      for (const conn of conns) {
        const [left] = await bench.waitFrames(conn, 'member', 1);
        expect(left).to.deep.equal({ type: 'member', conv, event: 'left', user: leaver });
      }
      for (const conn of conns.slice(0, 2)) {
        const [update] = await bench.waitFrames(conn, 'conversation', 1);
        expect(update!.conversation).to.deep.include({ owner, members: [owner, member], memberCount: 2 });
      }
      expect(bench.framesTo(conns[2]!, 'conversation'), 'the leaver gets no member list').to.deep.equal([]);
      expect((await bench.database.getMembers(conv)).map((m) => m.userId)).to.deep.equal([owner, member]);

      // The leaver is no member any more: its next send is refused.
      await bench.send(conv, leaver, conns[2]!, 'after-leaving');
      const [refused] = await bench.waitFrames(conns[2]!, 'error', 1);
      expect(refused).to.include({ code: 'not_found', ref: 'after-leaving' });
    });

    it('hands ownership to the longest-standing member when the owner leaves, and tells the rest', async function () {
      const { conv, members } = await bench.group(3);
      const [owner, second, third] = members as [string, string, string];
      const s1 = await bench.connect(second, GW1);
      const t1 = await bench.connect(third, GW2);
      await bench.produce({ type: 'member_remove', conv, actor: owner, user: owner, reply: reply('r-owner-leaves') });
      expect((await bench.waitReply('r-owner-leaves')).result).to.equal(null);
      for (const conn of [s1, t1]) {
        const [update] = await bench.waitFrames(conn, 'conversation', 1);
        expect(update!.conversation).to.deep.include({ owner: second, members: [second, third], memberCount: 2 });
      }
      expect((await bench.database.getConversation(conv))?.ownerId).to.equal(second);
    });
  });

  describe('de-duplication after the actor lost its memory', function () {
    it('answers a re-send after the actor was passivated with the original ack, through the store', async function () {
      await bench.stopLogic();
      await bench.startLogic({ passivateAfterMs: 30 });
      const { conv, members } = await bench.group(2);
      const a1 = await bench.connect(members[0]!, GW1);
      await bench.send(conv, members[0]!, a1, 'before-passivation');
      const [first] = await bench.waitFrames(a1, 'ack', 1);
      await waitFor(async () => (await bench.passivations('conversation')) >= 1, { message: 'the conversation actor to be passivated' });

      await bench.send(conv, members[0]!, a1, 'before-passivation');
      const acks = await bench.waitFrames(a1, 'ack', 2);
      expect(acks[1]).to.deep.equal(first);
      expect((await bench.database.listMessages(conv, 0, 10)).messages).to.have.length(1);
    });

    it('answers a re-send after the logic node restarted with the original ack, through the store', async function () {
      const { conv, members } = await bench.group(2);
      const a1 = await bench.connect(members[0]!, GW1);
      await bench.send(conv, members[0]!, a1, 'before-restart');
      const [first] = await bench.waitFrames(a1, 'ack', 1);
      await bench.stopLogic();
      await bench.startLogic();

      await bench.send(conv, members[0]!, a1, 'before-restart');
      await bench.send(conv, members[0]!, a1, 'after-restart');
      const acks = await bench.waitFrames(a1, 'ack', 3);
      expect(acks[1]).to.deep.equal(first);
      expect(acks[2]!.seq).to.equal(2);
      expect((await bench.database.listMessages(conv, 0, 10)).messages.map((m) => m.clientId)).to.deep.equal(['before-restart', 'after-restart']);
    });

    it('sorts a forgotten re-send out of a batch of new messages: original ack for it, next seqs for the rest', async function () {
      const { conv, members } = await bench.group(2);
      const a1 = await bench.connect(members[0]!, GW1);
      await bench.send(conv, members[0]!, a1, 'old');
      const [first] = await bench.waitFrames(a1, 'ack', 1);
      await bench.stopLogic();
      await bench.startLogic();

      bench.appendDelayMs = 40; // the first write is slow: the next three queue into one batch
      await bench.send(conv, members[0]!, a1, 'new-1');
      await bench.send(conv, members[0]!, a1, 'new-2');
      await bench.send(conv, members[0]!, a1, 'old');
      await bench.send(conv, members[0]!, a1, 'new-3');
      const acks = await bench.waitFrames(a1, 'ack', 5);
      expect(acks.slice(1).map((a) => [a.id, a.seq])).to.deep.equal([['new-1', 2], ['new-2', 3], ['old', 1], ['new-3', 4]]);
      expect(acks[3]).to.deep.equal(first);
      expect((await bench.database.listMessages(conv, 0, 10)).messages.map((m) => m.clientId)).to.deep.equal(['old', 'new-1', 'new-2', 'new-3']);
      expect(bench.framesTo(a1, 'error')).to.deep.equal([]);
    });
  });

  describe('failed writes', function () {
    it('retries a write that failed with a retriable error: stored once, acked once, no gap', async function () {
      const { conv, members } = await bench.group(2);
      const a1 = await bench.connect(members[0]!, GW1);
      for (let i = 0; i < 3; i++) bench.appendFailures.push(new TroupeError('unavailable', 'database restarting'));
      await bench.send(conv, members[0]!, a1, 'persistent');
      const [ack] = await bench.waitFrames(a1, 'ack', 1);
      expect(ack!.seq).to.equal(1);
      expect(bench.appendAttempts, 'three failures, then the write').to.have.length(4);

      await bench.send(conv, members[0]!, a1, 'following');
      const acks = await bench.waitFrames(a1, 'ack', 2);
      expect(acks[1]!.seq).to.equal(2);
      expect((await bench.database.listMessages(conv, 0, 10)).messages.map((m) => [m.seq, m.clientId])).to.deep.equal([
        [1, 'persistent'],
        [2, 'following'],
      ]);
      expect(bench.framesTo(a1, 'error')).to.deep.equal([]);
      expect(bench.framesTo(a1, 'ack'), 'acked once').to.have.length(2);
    });

    it('still answers a forgotten re-send with its original ack when the database failed before the conflict', async function () {
      const { conv, members } = await bench.group(2);
      const a1 = await bench.connect(members[0]!, GW1);
      await bench.send(conv, members[0]!, a1, 'old');
      const [first] = await bench.waitFrames(a1, 'ack', 1);
      await bench.stopLogic();
      await bench.startLogic();

      bench.appendFailures.push(new TroupeError('unavailable', 'database restarting'), new TroupeError('unavailable', 'database restarting'));
      await bench.send(conv, members[0]!, a1, 'old');
      const acks = await bench.waitFrames(a1, 'ack', 2);
      expect(acks[1]).to.deep.equal(first);
      expect(bench.framesTo(a1, 'error')).to.deep.equal([]);
    });

    it('fences the partition on stale_epoch: stops its actors, claims it again with a newer epoch, and writes the send under that one', async function () {
      const { conv, members } = await bench.group(2);
      const a1 = await bench.connect(members[0]!, GW1);
      bench.appendFailures.push(new TroupeError('stale_epoch', 'a newer owner wrote'));
      await bench.send(conv, members[0]!, a1, 'fenced');
      await waitFor(() => bench.logs.some((l) => l.message.startsWith('partition fenced')), { message: 'the partition to be fenced' });
      await bench.send(conv, members[0]!, a1, 'after-the-fence');

      const acks = await bench.waitFrames(a1, 'ack', 2);
      expect(acks.map((f) => [f.id, f.seq])).to.deep.equal([
        ['fenced', 1],
        ['after-the-fence', 2],
      ]);
      expect(bench.framesTo(a1, 'error')).to.deep.equal([]);
      const epochs = bench.appendAttempts.map((batches) => batches[0]!.epoch);
      expect(epochs[1], 'written under the new claim').to.be.greaterThan(epochs[0]!);
      expect((await bench.database.listMessages(conv, 0, 10)).messages.map((m) => m.clientId)).to.deep.equal(['fenced', 'after-the-fence']);
    });
  });
});
