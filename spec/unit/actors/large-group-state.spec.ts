/**
 * What a 100,000-member group costs the conversation actor per change: the conversation DTO
 * leaves its members out over 1,000 (docs/protocol.md) without listing them, and the digests of
 * the state's task pool slots follow joins and leaves member by member instead of being counted
 * again.
 */
import { expect } from 'chai';
import { ConversationState } from '../../../actors/conversation/conversation-state.js';
import { SlotDigests, slotOf } from '../../../actors/logic/member-slots.js';
import type { SlotDigest } from '../../../actors/records/types.js';
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
    function loaded(now?: () => number): ConversationState {
      const state = new ConversationState('c_big', {} as Store, now);
      state.conv = row(MEMBERS);
      state.members = new Map(ids.map((userId): [string, MemberRow] => [userId, { userId, readSeq: 0, joinedAt: 1 }]));
      return state;
    }

    /** Digests counted afresh from the state's members, at the time the state last counted. */
    const afresh = (state: ConversationState, poolSize: number): SlotDigest[] => new SlotDigests(state.members.keys(), poolSize, state.slots(poolSize)[0]!.countedAt).nonEmpty();

    it('keeps the slot digests current through joins and leaves, equal to digests counted afresh', function () {
      const state = loaded();
      const before = state.slots(16);
      expect(before).to.have.length(16);
      expect(before.reduce((n, d) => n + d.count, 0)).to.equal(MEMBERS);
      state.addMember({ userId: 'u_newcomer', readSeq: 0, joinedAt: 2 });
      state.addMember({ userId: ids[3]!, readSeq: 0, joinedAt: 2 }); // a member already: nothing changes
      state.removeMember(ids[5]!);
      state.removeMember('u_not_a_member');
      expect(state.slots(16)).to.deep.equal(afresh(state, 16));
      expect(state.slots(16).reduce((n, d) => n + d.count, 0)).to.equal(MEMBERS);
      expect(state.members.size).to.equal(MEMBERS);
    });

    it('changes only the slot of the member who joined or left', function () {
      const state = loaded();
      const before = state.slots(16);
      state.addMember({ userId: 'u_newcomer', readSeq: 0, joinedAt: 2 });
      const after = state.slots(16);
      const changed = after.filter((d, i) => d.count !== before[i]!.count || d.hash !== before[i]!.hash).map((d) => d.slot);
      expect(changed).to.deep.equal([slotOf('u_newcomer', 16)]);
      state.removeMember('u_newcomer');
      expect(state.slots(16), 'a join and its leave cancel out').to.deep.equal(before);
    });

    it('counts the digests again, at a later time, once the group was seen small', function () {
      let clock = 1;
      const state = loaded(() => clock);
      const before = state.slots(16);
      clock = 2;
      expect(state.slots(16), 'kept while large').to.deep.equal(before);
      state.forgetSlots();
      const after = state.slots(16);
      expect(after[0]!.countedAt, 'a later count').to.be.greaterThan(before[0]!.countedAt);
      expect(new Set(after.map((d) => d.countedAt)).size, 'one count for every slot').to.equal(1);
      expect(after.map(({ countedAt: _, ...d }) => d)).to.deep.equal(before.map(({ countedAt: _, ...d }) => d));
    });

    it('counts the digests again for another pool size', function () {
      const state = loaded();
      state.slots(16);
      const eight = state.slots(8);
      expect(eight).to.have.length(8);
      expect(eight.every((d) => d.poolSize === 8)).to.equal(true);
      expect(eight).to.deep.equal(afresh(state, 8));
    });
  });
});
