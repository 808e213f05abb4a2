/**
 * Member changes and read cursors are fenced like sends (actors/conversation/fenced-write.ts): the
 * conversation actor writes them with its partition's unit and epoch, and when the store refuses
 * one because a newer owner of the partition wrote (`stale_epoch`), the actor fences the partition
 * as its send pipeline does, and the requester still gets an answer: the refused write's error is
 * a retriable `unavailable`, never `internal`, and a record taken again under a newer epoch is
 * answered with its outcome.
 *
 * A newer owner is played by writing a newer epoch of the partition's unit into the database, as
 * a successor's write would: one above every revision the coordinator has handed out so far, so
 * the partition's claim taken again after the fence is newer still.
 */
import { expect } from 'chai';
import { fencedWrite } from '../../../actors/conversation/fenced-write.js';
import type { UnitContext } from '../../../actors/runtime/hosted-kind.js';
import { TroupeError } from '../../../transport/errors.js';
import type { Fence } from '../../../transport/store/port.js';
import { expectTroupeRejection } from '../../support/expect-rejection.js';
import { waitFor } from '../../support/wait-for.js';
import { GATEWAYS, LogicBench } from './logic-bench.js';

const [GW1, GW2] = GATEWAYS;

describe('fenced member and cursor writes', function () {
  describe('fencedWrite', function () {
    function unit(): UnitContext & { fences: string[] } {
      const fences: string[] = [];
      return { unit: 'upstream/3', epoch: 41, fence: (reason) => fences.push(reason), fences };
    }

    it("passes the unit's fence to the write and its result back", async function () {
      const u = unit();
      let given: Fence | undefined;
      expect(await fencedWrite(u, 'conversation c1', async (fence) => ((given = fence), 'written'))).to.equal('written');
      expect(given).to.deep.equal({ unit: 'upstream/3', epoch: 41 });
      expect(u.fences).to.deep.equal([]);
    });

    for (const code of ['stale_epoch', 'not_owner'] as const) {
      it(`fences the unit on ${code} and fails with a retriable unavailable caused by it`, async function () {
        const u = unit();
        const refusal = new TroupeError(code, 'epoch 41 of upstream/3 is older than 42');
        const err = await expectTroupeRejection(fencedWrite(u, 'conversation c1', () => Promise.reject(refusal)), 'unavailable');
        expect(err.retriable).to.equal(true);
        expect(err.cause).to.equal(refusal);
        expect(u.fences).to.deep.equal(['conversation c1: epoch 41 of upstream/3 is older than 42']);
      });
    }

    it('passes any other failure through without fencing', async function () {
      const u = unit();
      await expectTroupeRejection(fencedWrite(u, 'conversation c1', () => Promise.reject(new TroupeError('conflict', 'taken'))), 'conflict');
      expect(u.fences).to.deep.equal([]);
    });
  });

  describe('in the conversation actor', function () {
    let bench: LogicBench;

    beforeEach(async function () {
      bench = await LogicBench.open();
      await bench.startLogic();
    });

    afterEach(async function () {
      await bench.close();
    });

    /** Makes a newer owner of `partition` write: its epoch in the database passes this node's. */
    async function newerOwnerWrote(partition: number): Promise<void> {
      const { revision } = await bench.coord.getPrefix('/');
      await bench.database.appendMessages([{ unit: `upstream/${partition}`, epoch: revision + 1, messages: [] }]);
    }

    function fencesOf(conv: string): number {
      return bench.logs.filter((l) => l.message.startsWith('partition fenced') && JSON.stringify(l.meta ?? {}).includes(`conversation ${conv}`)).length;
    }

    it('fences the partition when a member write is refused for an older epoch, and answers the request', async function () {
      const { conv, members } = await bench.group(2);
      const [owner] = members as [string, string];
      const o1 = await bench.connect(owner, GW1);
      const position = await bench.send(conv, owner, o1, 'first');
      await bench.waitFrames(o1, 'ack', 1);
      const newcomer = await bench.user();

      await newerOwnerWrote(position.partition);
      await bench.produce({ type: 'members_add', conv, actor: owner, members: [newcomer], reply: { gatewayId: GW1, requestId: 'r-fenced-add' } });
      await waitFor(() => fencesOf(conv) > 0, { message: 'the partition to be fenced by the member write' });
      const answer = await bench.waitReply('r-fenced-add');
      const stored = (await bench.database.getMembers(conv)).map((m) => m.userId);
      if (answer.error !== undefined) {
        expect(answer.error.code, 'a refused write is answered as retriable').to.equal('unavailable');
        expect(stored).to.not.include(newcomer);
      } else {
        // Taken again under the partition's newer epoch: applied once, and said so.
        expect(answer.result).to.deep.include({ members: [...members, newcomer] });
        expect(stored).to.deep.equal([...members, newcomer]);
      }
    });

    it('fences the partition when a read cursor write is refused for an older epoch, and answers the reader', async function () {
      const { conv, members } = await bench.group(2);
      const [a, b] = members as [string, string];
      const a1 = await bench.connect(a, GW1);
      const b1 = await bench.connect(b, GW2);
      const position = await bench.send(conv, a, a1, 'to-read');
      await bench.waitFrames(a1, 'ack', 1);

      await newerOwnerWrote(position.partition);
      await bench.produce({ type: 'read', conv, user: b, origin: b1, seq: 1, ref: 'fenced-read' });
      await waitFor(() => fencesOf(conv) > 0, { message: 'the partition to be fenced by the cursor write' });
      await waitFor(() => bench.framesTo(b1, 'error').length > 0 || bench.framesTo(a1, 'read').length > 0, { message: 'an answer to the read' });
      const errors = bench.framesTo(b1, 'error');
      if (errors.length > 0) {
        expect(errors[0]).to.include({ code: 'unavailable', ref: 'fenced-read' });
        expect((await bench.database.getMember(conv, b))?.readSeq).to.equal(0);
      } else {
        expect(bench.framesTo(a1, 'read')).to.deep.equal([{ type: 'read', conv, user: b, seq: 1 }]);
        expect((await bench.database.getMember(conv, b))?.readSeq).to.equal(1);
      }
    });
  });
});
