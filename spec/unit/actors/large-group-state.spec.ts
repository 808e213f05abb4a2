/**
 * What a 100,000-member group costs the conversation actor per change: the conversation DTO
 * leaves its members out over 1,000 (docs/protocol.md) without listing them, and the state's
 * task pool slots follow joins and leaves member by member instead of being rebuilt.
 */
import { expect } from 'chai';
import { ConversationState } from '../../../actors/conversation/conversation-state.js';
import { slotOf } from '../../../actors/logic/member-slots.js';
import { conversationDto, MEMBER_LIST_LIMIT } from '../../../actors/protocol/dto.js';
import type { ConversationRow, MemberRow, Store } from '../../../transport/store/port.js';

const MEMBERS = 100_000;
const ids = Array.from({ length: MEMBERS }, (_, i) => `u_${i.toString(36).padStart(16, '0')}`);
const row = (memberCount: number): ConversationRow => ({ id: 'c_big', type: 'group', name: 'big', ownerId: ids[0]!, lastSeq: 9, memberCount, createdAt: 1 });

describe('large groups on the logic node', function () {
  describe('conversationDto', function () {
    it(`omits members above ${MEMBER_LIST_LIMIT} without asking for the list, and keeps memberCount`, function () {
      const dto = conversationDto(row(MEMBERS), () => {
        throw new Error('the member list was made');
      }, 4);
      expect(dto).to.deep.equal({ id: 'c_big', type: 'group', name: 'big', owner: ids[0], memberCount: MEMBERS, lastSeq: 9, readSeq: 4, createdAt: 1 });
    });

    it(`lists members up to ${MEMBER_LIST_LIMIT}, from an array or a function`, function () {
      const some = ids.slice(0, MEMBER_LIST_LIMIT);
      expect(conversationDto(row(MEMBER_LIST_LIMIT), some, 0).members).to.deep.equal(some);
      expect(conversationDto(row(MEMBER_LIST_LIMIT), () => some, 0).members).to.deep.equal(some);
      expect(conversationDto(row(MEMBER_LIST_LIMIT + 1), some, 0)).to.not.have.property('members');
    });
  });

  describe('ConversationState slots', function () {
    /** A state holding the 100,000 members, as a load would leave it. */
    function loaded(): ConversationState {
      const state = new ConversationState('c_big', {} as Store);
      state.conv = row(MEMBERS);
      state.members = new Map(ids.map((userId): [string, MemberRow] => [userId, { userId, readSeq: 0, joinedAt: 1 }]));
      return state;
    }

    it('keeps the slots current through joins and leaves, the same arrays, without rebuilding them', function () {
      const state = loaded();
      const slots = state.slots(16);
      expect(slots.reduce((n, s) => n + s.length, 0)).to.equal(MEMBERS);
      state.addMember({ userId: 'u_newcomer', readSeq: 0, joinedAt: 2 });
      state.removeMember(ids[5]!);
      state.removeMember('u_not_a_member');
      expect(state.slots(16), 'the same slots').to.equal(slots);
      expect(slots[slotOf('u_newcomer', 16)]!.at(-1)).to.equal('u_newcomer');
      expect(slots[slotOf(ids[5]!, 16)]).to.not.include(ids[5]);
      expect(slots.reduce((n, s) => n + s.length, 0)).to.equal(MEMBERS);
      expect(state.members.size).to.equal(MEMBERS);
    });

    it('makes the slots again for another pool size', function () {
      const state = loaded();
      const sixteen = state.slots(16);
      const eight = state.slots(8);
      expect(eight).to.not.equal(sixteen);
      expect(eight).to.have.length(8);
      expect(eight.reduce((n, s) => n + s.length, 0)).to.equal(MEMBERS);
    });

    it('adds 1,000 members to a 100,000-member group in far less time than making the slots', function () {
      const state = loaded();
      let started = process.hrtime.bigint();
      state.slots(16);
      const build = Number(process.hrtime.bigint() - started);
      started = process.hrtime.bigint();
      for (let i = 0; i < 1000; i++) state.addMember({ userId: `u_added${i}`, readSeq: 0, joinedAt: 2 });
      const add = Number(process.hrtime.bigint() - started);
      expect(add, `1,000 joins took ${add} ns, making the slots ${build} ns`).to.be.lessThan(build / 2);
    });
  });
});
