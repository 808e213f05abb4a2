/**
 * The contract of the storage port (transport/store/port.ts), written once and run on every
 * implementation: SQLite now, MySQL/MariaDB in cluster mode.
 *
 * The database is not assumed empty: every test makes its own users, conversations and
 * fencing units with ids unique to this run, and one store serves the whole suite.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { TroupeError } from '../../transport/errors.js';
import {
  StaleEpochError,
  type ConversationRow,
  type Fence,
  type FenceableStore,
  type FencedBatch,
  type MessageRow,
  type RefreshTokenRow,
  type Store,
  type UserRow,
} from '../../transport/store/port.js';

export type StoreFactory = () => Promise<{ store: Store; cleanup(): Promise<void> }>;

export interface StoreContractOptions {
  /** The store is a FenceableStore (the database store): check its bound fences too. */
  fenceable?: boolean;
}

/** Milliseconds well past 2^31, so that bigint columns are exercised. */
const T0 = 1_764_000_000_000;

export function describeStoreContract(name: string, factory: StoreFactory, options: StoreContractOptions = {}): void {
  describe(`Store contract: ${name}`, function () {
    const run = randomBytes(4).toString('hex');
    let counter = 0;
    /** An id unique to this run; `tag` comes first so tests can choose the ids' sort order. */
    const uid = (tag: string): string => `${tag}-${run}-${++counter}`;

    let store: Store;
    let cleanup: (() => Promise<void>) | undefined;

    before(async function () {
      ({ store, cleanup } = await factory());
    });

    after(async function () {
      await cleanup?.();
    });

    async function rejection(promise: Promise<unknown>): Promise<TroupeError> {
      try {
        await promise;
      } catch (err) {
        expect(err).to.be.instanceOf(TroupeError);
        return err as TroupeError;
      }
      expect.fail('expected the call to reject');
    }

    function userRow(tag = 'u'): UserRow {
      const id = uid(tag);
      return { id, username: `n${run}${counter}`, displayName: `User ${id}`, passwordHash: `$argon2id$${id}`, createdAt: T0 + counter };
    }

    async function newUsers(...tags: string[]): Promise<string[]> {
      const ids: string[] = [];
      for (const tag of tags) {
        const user = userRow(tag);
        await store.createUser(user);
        ids.push(user.id);
      }
      return ids;
    }

    function groupRow(ownerId: string, createdAt = T0): ConversationRow {
      return { id: uid('g'), type: 'group', name: `group ${counter}`, ownerId, lastSeq: 0, memberCount: 0, createdAt };
    }

    /** A group of `tags.length` new users, the first one owner, joined in the given order. */
    async function newGroup(...tags: string[]): Promise<{ conv: string; members: string[] }> {
      const members = await newUsers(...tags);
      const conv = groupRow(members[0]!);
      await store.createGroup(conv, members);
      return { conv: conv.id, members };
    }

    function message(conv: string, seq: number, from: string, clientId = uid('c')): MessageRow {
      return { conv, seq, id: uid('m'), from, clientId, body: JSON.stringify({ text: `hello ${seq}` }), ts: T0 + seq };
    }

    function batch(messages: MessageRow[], unit = uid('unit'), epoch = 1): FencedBatch {
      return { unit, epoch, messages };
    }

    /** A fence of a unit of its own unless one is named. */
    function fence(unit = uid('unit'), epoch = 1): Fence {
      return { unit, epoch };
    }

    function tokenRow(userId: string, familyId: string): RefreshTokenRow {
      const tokenHash = randomBytes(32).toString('hex');
      return { tokenHash, userId, familyId, expiresAt: T0 + 86_400_000, usedAt: null, revoked: false };
    }

    describe('users', function () {
      it('stores a user and finds it by id and by username', async function () {
        const user = userRow();
        await store.createUser(user);
        expect(await store.getUser(user.id)).to.deep.equal(user);
        expect(await store.getUserByUsername(user.username)).to.deep.equal(user);
      });

      it('returns null for an unknown id or username', async function () {
        expect(await store.getUser(uid('missing'))).to.equal(null);
        expect(await store.getUserByUsername(`missing${run}`)).to.equal(null);
      });

      it('refuses a taken username with conflict and stores nothing', async function () {
        const first = userRow();
        await store.createUser(first);
        const second = { ...userRow(), username: first.username };
        const err = await rejection(store.createUser(second));
        expect(err.code).to.equal('conflict');
        expect(await store.getUser(second.id)).to.equal(null);
        expect((await store.getUserByUsername(first.username))?.id).to.equal(first.id);
      });

      it('getUsers returns the existing users among the ids and omits unknown ones', async function () {
        const [a, b] = await newUsers('u', 'u');
        const found = await store.getUsers([a!, uid('missing'), b!, a!]);
        expect(found.map((u) => u.id).sort()).to.deep.equal([a, b].sort());
        expect(await store.getUsers([])).to.deep.equal([]);
      });
    });

    describe('refresh tokens', function () {
      it('stores a token and reads it back unused', async function () {
        const [user] = await newUsers('u');
        const token = tokenRow(user!, uid('fam'));
        await store.insertRefreshToken(token);
        expect(await store.getRefreshToken(token.tokenHash)).to.deep.equal(token);
        expect(await store.getRefreshToken('0'.repeat(64))).to.equal(null);
      });

      it('rotates a token once: the first call spends it and inserts the next one', async function () {
        const [user] = await newUsers('u');
        const family = uid('fam');
        const token = tokenRow(user!, family);
        await store.insertRefreshToken(token);
        const next = tokenRow(user!, family);
        expect(await store.rotateRefreshToken(token.tokenHash, T0 + 5, next)).to.equal(true);
        expect(await store.getRefreshToken(token.tokenHash)).to.deep.equal({ ...token, usedAt: T0 + 5 });
        expect(await store.getRefreshToken(next.tokenHash)).to.deep.equal(next);
      });

      it('refuses a second rotation of the same token and inserts nothing', async function () {
        const [user] = await newUsers('u');
        const family = uid('fam');
        const token = tokenRow(user!, family);
        await store.insertRefreshToken(token);
        expect(await store.rotateRefreshToken(token.tokenHash, T0 + 1, tokenRow(user!, family))).to.equal(true);
        const replay = tokenRow(user!, family);
        expect(await store.rotateRefreshToken(token.tokenHash, T0 + 2, replay)).to.equal(false);
        expect(await store.getRefreshToken(replay.tokenHash)).to.equal(null);
        expect((await store.getRefreshToken(token.tokenHash))?.usedAt).to.equal(T0 + 1);
      });

      it('lets exactly one of several concurrent rotations of a token win', async function () {
        const [user] = await newUsers('u');
        const family = uid('fam');
        const token = tokenRow(user!, family);
        await store.insertRefreshToken(token);
        const nexts = [1, 2, 3, 4].map(() => tokenRow(user!, family));
        const results = await Promise.all(nexts.map((next, i) => store.rotateRefreshToken(token.tokenHash, T0 + i, next)));
        expect(results.filter((won) => won)).to.have.length(1);
        const stored = await Promise.all(nexts.map((next) => store.getRefreshToken(next.tokenHash)));
        expect(stored.filter((row) => row !== null)).to.have.length(1);
        expect(stored.findIndex((row) => row !== null)).to.equal(results.indexOf(true));
      });

      it('revokes every token of a family, none of another, and a revoked token cannot rotate', async function () {
        const [user] = await newUsers('u');
        const family = uid('fam');
        const a = tokenRow(user!, family);
        const b = tokenRow(user!, family);
        const other = tokenRow(user!, uid('fam'));
        for (const t of [a, b, other]) await store.insertRefreshToken(t);
        await store.revokeRefreshFamily(family);
        expect((await store.getRefreshToken(a.tokenHash))?.revoked).to.equal(true);
        expect((await store.getRefreshToken(b.tokenHash))?.revoked).to.equal(true);
        expect((await store.getRefreshToken(other.tokenHash))?.revoked).to.equal(false);
        const next = tokenRow(user!, family);
        expect(await store.rotateRefreshToken(a.tokenHash, T0, next)).to.equal(false);
        expect(await store.getRefreshToken(next.tokenHash)).to.equal(null);
      });
    });

    describe('groups', function () {
      it('creates a group whose members are listed in join order, not id order', async function () {
        // Tags make the ids sort opposite to the join order.
        const members = await newUsers('z', 'y', 'x');
        const conv = groupRow(members[0]!, T0 + 7);
        await store.createGroup(conv, members);
        expect(await store.getConversation(conv.id)).to.deep.equal({ ...conv, memberCount: 3 });
        const listed = await store.getMembers(conv.id);
        expect(listed.map((m) => m.userId)).to.deep.equal(members);
        expect(listed[0]).to.deep.equal({ userId: members[0], readSeq: 0, joinedAt: T0 + 7 });
      });

      it('returns null for an unknown conversation and for a non-member', async function () {
        const { conv } = await newGroup('o');
        const [stranger] = await newUsers('s');
        expect(await store.getConversation(uid('missing'))).to.equal(null);
        expect(await store.getMember(conv, stranger!)).to.equal(null);
        expect(await store.getMembers(uid('missing'))).to.deep.equal([]);
      });

      it('addMembers adds only the users not yet members, in order, and counts them', async function () {
        const { conv, members } = await newGroup('o', 'a');
        const [p, q] = await newUsers('z', 'b');
        const added = await store.addMembers(conv, [p!, members[1]!, q!, p!], T0 + 50, fence());
        expect(added).to.deep.equal([p, q]);
        expect((await store.getMembers(conv)).map((m) => m.userId)).to.deep.equal([...members, p, q]);
        expect((await store.getMember(conv, q!))?.joinedAt).to.equal(T0 + 50);
        expect((await store.getConversation(conv))?.memberCount).to.equal(4);
        expect(await store.addMembers(conv, [p!], T0 + 60, fence())).to.deep.equal([]);
        expect((await store.getConversation(conv))?.memberCount).to.equal(4);
      });

      it('refuses members who are not users with not_found and creates nothing', async function () {
        const [owner] = await newUsers('o');
        const conv = groupRow(owner!);
        expect((await rejection(store.createGroup(conv, [owner!, uid('ghost')]))).code).to.equal('not_found');
        expect(await store.getConversation(conv.id)).to.equal(null);
        const { conv: existing } = await newGroup('o');
        expect((await rejection(store.addMembers(existing, [uid('ghost')], T0, fence()))).code).to.equal('not_found');
        expect((await store.getConversation(existing))?.memberCount).to.equal(1);
      });

      it('addMembers to an unknown conversation is not_found', async function () {
        const [u] = await newUsers('u');
        expect((await rejection(store.addMembers(uid('missing'), [u!], T0, fence()))).code).to.equal('not_found');
      });

      it('removing a member who is not the owner keeps the owner and lowers the count', async function () {
        const { conv, members } = await newGroup('o', 'a', 'b');
        const after = await store.removeMember(conv, members[1]!, fence());
        expect(after).to.include({ id: conv, ownerId: members[0], memberCount: 2 });
        expect(await store.getConversation(conv)).to.deep.equal(after);
        expect((await store.getMembers(conv)).map((m) => m.userId)).to.deep.equal([members[0], members[2]]);
      });

      it('hands ownership to the longest-standing remaining member when the owner leaves', async function () {
        // b joined before c, although c's id sorts first.
        const { conv, members } = await newGroup('o', 'zb');
        const [c] = await newUsers('ac');
        await store.addMembers(conv, [c!], T0 + 10, fence());
        const after = await store.removeMember(conv, members[0]!, fence());
        expect(after).to.include({ ownerId: members[1], memberCount: 2 });
        expect((await store.getConversation(conv))?.ownerId).to.equal(members[1]);
        const next = await store.removeMember(conv, members[1]!, fence());
        expect(next?.ownerId).to.equal(c);
      });

      it('leaves the group without owner when the last member leaves', async function () {
        const { conv, members } = await newGroup('o');
        const after = await store.removeMember(conv, members[0]!, fence());
        expect(after).to.include({ ownerId: null, memberCount: 0 });
        expect(await store.getConversation(conv)).to.deep.equal(after);
        expect(await store.getMembers(conv)).to.deep.equal([]);
      });

      it('removeMember of a non-member returns null and changes nothing', async function () {
        const { conv } = await newGroup('o', 'a');
        const [stranger] = await newUsers('s');
        const before = await store.getConversation(conv);
        expect(await store.removeMember(conv, stranger!, fence())).to.equal(null);
        expect(await store.removeMember(uid('missing'), stranger!, fence())).to.equal(null);
        expect(await store.getConversation(conv)).to.deep.equal(before);
      });
    });

    describe('member pages (listMembers)', function () {
      /** Every page of `conv` from the start, `limit` at a time. */
      async function allPages(conv: string, limit: number): Promise<Array<{ ids: string[]; more: boolean }>> {
        const pages: Array<{ ids: string[]; more: boolean }> = [];
        let after = '';
        for (;;) {
          const page = await store.listMembers(conv, after, limit);
          pages.push({ ids: page.members.map((m) => m.userId), more: page.more });
          if (!page.more) return pages;
          after = page.members[page.members.length - 1]!.userId;
        }
      }

      it('lists members by user id, not join order, with their names and join times', async function () {
        const members = await newUsers('z', 'x', 'y');
        const conv = groupRow(members[0]!, T0 + 3);
        await store.createGroup(conv, members);
        const [late] = await newUsers('w');
        await store.addMembers(conv.id, [late!], T0 + 9, fence());
        const page = await store.listMembers(conv.id, '', 10);
        const byId = [...members, late!].sort();
        expect(page.more).to.equal(false);
        expect(page.members.map((m) => m.userId)).to.deep.equal(byId);
        const user = (await store.getUser(late!))!;
        expect(page.members[0]).to.deep.equal({ userId: late, username: user.username, displayName: user.displayName, joinedAt: T0 + 9 });
        expect(page.members[1]).to.deep.include({ userId: members[1], joinedAt: T0 + 3 });
      });

      it('pages with after and limit, more telling whether members remain', async function () {
        const { conv, members } = await newGroup('e', 'a', 'd', 'b', 'c');
        const sorted = [...members].sort();
        expect(await allPages(conv, 2)).to.deep.equal([
          { ids: sorted.slice(0, 2), more: true },
          { ids: sorted.slice(2, 4), more: true },
          { ids: sorted.slice(4), more: false },
        ]);
        expect(await allPages(conv, 5)).to.deep.equal([{ ids: sorted, more: false }]);
        // `after` need not be a member: the page starts at the next id above it.
        const between = `${sorted[1]!}~`;
        expect((await store.listMembers(conv, between, 10)).members.map((m) => m.userId)).to.deep.equal(sorted.slice(2));
        expect(await store.listMembers(conv, sorted[4]!, 10)).to.deep.equal({ members: [], more: false });
      });

      it('leaves out removed members and answers an unknown conversation with an empty page', async function () {
        const { conv, members } = await newGroup('o', 'a', 'b');
        await store.removeMember(conv, members[1]!, fence());
        expect((await store.listMembers(conv, '', 10)).members.map((m) => m.userId)).to.deep.equal([members[0], members[2]].sort());
        expect(await store.listMembers(uid('missing'), '', 10)).to.deep.equal({ members: [], more: false });
      });

      it('refuses a limit that is not a positive integer with invalid_argument', async function () {
        const { conv } = await newGroup('o');
        for (const limit of [0, -1, 1.5]) {
          expect((await rejection(store.listMembers(conv, '', limit))).code, String(limit)).to.equal('invalid_argument');
        }
      });

      it('adds more members than one multi-row statement holds in one call, and pages through them all', async function () {
        const { conv, members } = await newGroup('o');
        const rows = Array.from({ length: 230 }, (_, i) => userRow(`m${String(i).padStart(3, '0')}`));
        await Promise.all(rows.map((u) => store.createUser(u)));
        const many = rows.map((u) => u.id);
        expect(await store.addMembers(conv, many, T0 + 1, fence())).to.deep.equal(many);
        expect((await store.getConversation(conv))?.memberCount).to.equal(231);
        const pages = await allPages(conv, 100);
        expect(pages.map((p) => p.ids.length)).to.deep.equal([100, 100, 31]);
        expect(pages.flatMap((p) => p.ids)).to.deep.equal([...members, ...many].sort());
      });
    });

    describe('direct conversations', function () {
      it('creates the direct conversation of two users once, whatever the order of the users', async function () {
        const [a, b] = await newUsers('a', 'b');
        const id = uid('d');
        const first = await store.getOrCreateDirect(id, a!, b!, T0 + 3);
        expect(first.created).to.equal(true);
        expect(first.conv).to.deep.equal({ id, type: 'direct', name: null, ownerId: null, lastSeq: 0, memberCount: 2, createdAt: T0 + 3 });
        expect(await store.getConversation(id)).to.deep.equal(first.conv);
        expect((await store.getMembers(id)).map((m) => m.userId)).to.deep.equal([a, b]);
        const again = await store.getOrCreateDirect(uid('d'), b!, a!, T0 + 4);
        expect(again).to.deep.equal({ conv: first.conv, created: false });
      });

      it('gives concurrent callers one and the same conversation', async function () {
        const [a, b] = await newUsers('a', 'b');
        const results = await Promise.all(
          [0, 1, 2, 3, 4].map((i) => (i % 2 === 0 ? store.getOrCreateDirect(uid('d'), a!, b!, T0) : store.getOrCreateDirect(uid('d'), b!, a!, T0))),
        );
        const ids = new Set(results.map((r) => r.conv.id));
        expect(ids.size).to.equal(1);
        expect(results.filter((r) => r.created)).to.have.length(1);
        const directs = (await store.listMemberships(a!)).filter((m) => m.conv.type === 'direct');
        expect(directs.map((m) => m.conv.id)).to.deep.equal([...ids]);
        expect(await store.getMembers([...ids][0]!)).to.have.length(2);
      });

      it('directPeers lists the users sharing a direct conversation, not group members', async function () {
        const [a, b, c] = await newUsers('a', 'b', 'c');
        const { conv } = await newGroup('o');
        await store.addMembers(conv, [a!], T0, fence());
        await store.getOrCreateDirect(uid('d'), a!, b!, T0);
        await store.getOrCreateDirect(uid('d'), c!, a!, T0);
        expect((await store.directPeers(a!)).sort()).to.deep.equal([b, c].sort());
        expect(await store.directPeers(b!)).to.deep.equal([a]);
      });
    });

    describe('appending messages', function () {
      it('stores the messages and raises lastSeq to the highest seq of each conversation', async function () {
        const g1 = await newGroup('o');
        const g2 = await newGroup('o');
        const from1 = g1.members[0]!;
        const from2 = g2.members[0]!;
        const written = [message(g1.conv, 1, from1), message(g1.conv, 2, from1), message(g2.conv, 1, from2)];
        await store.appendMessages([batch(written.slice(0, 1)), batch(written.slice(1))]);
        expect((await store.getConversation(g1.conv))?.lastSeq).to.equal(2);
        expect((await store.getConversation(g2.conv))?.lastSeq).to.equal(1);
        expect((await store.listMessages(g1.conv, 0, 10)).messages).to.deep.equal(written.slice(0, 2));
        await store.appendMessages([batch([message(g1.conv, 3, from1)])]);
        expect((await store.getConversation(g1.conv))?.lastSeq).to.equal(3);
      });

      it('refuses a gap with conflict and writes nothing', async function () {
        const { conv, members } = await newGroup('o');
        await store.appendMessages([batch([message(conv, 1, members[0]!)])]);
        expect((await rejection(store.appendMessages([batch([message(conv, 3, members[0]!)])]))).code).to.equal('conflict');
        expect((await rejection(store.appendMessages([batch([message(conv, 2, members[0]!), message(conv, 4, members[0]!)])]))).code).to.equal('conflict');
        expect((await store.getConversation(conv))?.lastSeq).to.equal(1);
        expect((await store.listMessages(conv, 0, 10)).messages.map((m) => m.seq)).to.deep.equal([1]);
      });

      it('refuses a seq that is already stored with conflict', async function () {
        const { conv, members } = await newGroup('o');
        await store.appendMessages([batch([message(conv, 1, members[0]!)])]);
        const err = await rejection(store.appendMessages([batch([message(conv, 1, members[0]!)])]));
        expect(err.code).to.equal('conflict');
        expect((await store.listMessages(conv, 0, 10)).messages).to.have.length(1);
      });

      it('refuses a repeated sender and client id with conflict and writes nothing', async function () {
        const { conv, members } = await newGroup('o', 'a');
        const [o, a] = members as [string, string];
        await store.appendMessages([batch([message(conv, 1, o, 'same')])]);
        const err = await rejection(store.appendMessages([batch([message(conv, 2, a, 'same'), message(conv, 3, o, 'same')])]));
        expect(err.code).to.equal('conflict');
        expect((await store.getConversation(conv))?.lastSeq).to.equal(1);
        expect((await store.listMessages(conv, 0, 10)).messages.map((m) => m.seq)).to.deep.equal([1]);
        // Another sender may use the same client id.
        await store.appendMessages([batch([message(conv, 2, a, 'same')])]);
        expect((await store.getConversation(conv))?.lastSeq).to.equal(2);
      });

      it('writes neither conversation when a batch mixes a good and a bad one', async function () {
        const good = await newGroup('o');
        const bad = await newGroup('o');
        const err = await rejection(
          store.appendMessages([batch([message(good.conv, 1, good.members[0]!)]), batch([message(bad.conv, 2, bad.members[0]!)])]),
        );
        expect(err.code).to.equal('conflict');
        expect((await store.getConversation(good.conv))?.lastSeq).to.equal(0);
        expect((await store.listMessages(good.conv, 0, 10)).messages).to.deep.equal([]);
      });

      it('refuses a batch with an older epoch than the unit has seen, not retriable, writing nothing', async function () {
        const { conv, members } = await newGroup('o');
        const unit = uid('unit');
        await store.appendMessages([batch([message(conv, 1, members[0]!)], unit, 5)]);
        const err = await rejection(store.appendMessages([batch([message(conv, 2, members[0]!)], unit, 4)]));
        expect(err.code).to.equal('stale_epoch');
        expect(err.retriable).to.equal(false);
        expect((await store.getConversation(conv))?.lastSeq).to.equal(1);
        expect((await store.listMessages(conv, 0, 10)).messages).to.have.length(1);
      });

      it('accepts the same or a newer epoch, and the newer one becomes the newest', async function () {
        const { conv, members } = await newGroup('o');
        const from = members[0]!;
        const unit = uid('unit');
        await store.appendMessages([batch([message(conv, 1, from)], unit, 5)]);
        await store.appendMessages([batch([message(conv, 2, from)], unit, 5)]);
        await store.appendMessages([batch([message(conv, 3, from)], unit, 6)]);
        expect((await rejection(store.appendMessages([batch([message(conv, 4, from)], unit, 5)]))).code).to.equal('stale_epoch');
        expect((await store.getConversation(conv))?.lastSeq).to.equal(3);
      });

      it('fences even a batch without messages, and keeps other units apart', async function () {
        const { conv, members } = await newGroup('o');
        const unit = uid('unit');
        await store.appendMessages([batch([], unit, 9)]);
        expect((await rejection(store.appendMessages([batch([message(conv, 1, members[0]!)], unit, 8)]))).code).to.equal('stale_epoch');
        await store.appendMessages([batch([message(conv, 1, members[0]!)], uid('unit'), 1)]);
        expect((await store.getConversation(conv))?.lastSeq).to.equal(1);
      });

      it('does not keep the raised epoch of a call that was refused', async function () {
        const g1 = await newGroup('o');
        const g2 = await newGroup('o');
        const fresh = uid('unit');
        const stale = uid('unit');
        await store.appendMessages([batch([], fresh, 1), batch([], stale, 5)]);
        const err = await rejection(
          store.appendMessages([batch([message(g1.conv, 1, g1.members[0]!)], fresh, 3), batch([message(g2.conv, 1, g2.members[0]!)], stale, 4)]),
        );
        expect(err.code).to.equal('stale_epoch');
        expect((await store.getConversation(g1.conv))?.lastSeq).to.equal(0);
        // Epoch 3 of `fresh` was rolled back with the call, so 2 is still accepted.
        await store.appendMessages([batch([message(g1.conv, 1, g1.members[0]!)], fresh, 2)]);
        expect((await store.getConversation(g1.conv))?.lastSeq).to.equal(1);
      });

      it('lets only one of two concurrent appends of the same seq win', async function () {
        const { conv, members } = await newGroup('o');
        const unit = uid('unit');
        const attempts = await Promise.allSettled([
          store.appendMessages([batch([message(conv, 1, members[0]!)], unit, 1)]),
          store.appendMessages([batch([message(conv, 1, members[0]!)], unit, 1)]),
        ]);
        expect(attempts.filter((a) => a.status === 'fulfilled')).to.have.length(1);
        const refused = attempts.find((a) => a.status === 'rejected');
        expect((refused as PromiseRejectedResult).reason).to.be.instanceOf(TroupeError).with.property('code', 'conflict');
        expect((await store.listMessages(conv, 0, 10)).messages).to.have.length(1);
      });

      it('stores a batch larger than one multi-row statement', async function () {
        const { conv, members } = await newGroup('o');
        const many = Array.from({ length: 450 }, (_, i) => message(conv, i + 1, members[0]!));
        await store.appendMessages([batch(many)]);
        expect((await store.getConversation(conv))?.lastSeq).to.equal(450);
        const page = await store.listMessages(conv, 440, 100);
        expect(page.messages.map((m) => m.seq)).to.deep.equal([441, 442, 443, 444, 445, 446, 447, 448, 449, 450]);
      });
    });

    describe('reading messages', function () {
      it('pages through messages with more telling whether further ones exist', async function () {
        const { conv, members } = await newGroup('o');
        const written = [1, 2, 3, 4, 5].map((seq) => message(conv, seq, members[0]!));
        await store.appendMessages([batch(written)]);
        const seqs = async (after: number, limit: number): Promise<[number[], boolean]> => {
          const page = await store.listMessages(conv, after, limit);
          return [page.messages.map((m) => m.seq), page.more];
        };
        expect(await seqs(0, 2)).to.deep.equal([[1, 2], true]);
        expect(await seqs(2, 2)).to.deep.equal([[3, 4], true]);
        expect(await seqs(4, 2)).to.deep.equal([[5], false]);
        expect(await seqs(3, 2)).to.deep.equal([[4, 5], false]);
        expect(await seqs(5, 2)).to.deep.equal([[], false]);
        expect((await store.listMessages(conv, 0, 5)).messages).to.deep.equal(written);
      });

      it('finds stored messages by exact (sender, client id) pairs only', async function () {
        const { conv, members } = await newGroup('o', 'a');
        const [o, a] = members as [string, string];
        const m1 = message(conv, 1, o, 'one');
        const m2 = message(conv, 2, a, 'two');
        await store.appendMessages([batch([m1, m2])]);
        const found = await store.findByClientIds(conv, [
          { from: o, clientId: 'one' },
          { from: a, clientId: 'two' },
          { from: o, clientId: 'two' },
          { from: a, clientId: 'missing' },
        ]);
        expect(found.sort((x, y) => x.seq - y.seq)).to.deep.equal([m1, m2]);
        expect(await store.findByClientIds(conv, [{ from: a, clientId: 'one' }])).to.deep.equal([]);
        expect(await store.findByClientIds(conv, [])).to.deep.equal([]);
      });
    });

    describe('read cursors and memberships', function () {
      it('moves the read cursor forward only and returns the cursor after the call', async function () {
        const { conv, members } = await newGroup('o', 'a');
        const a = members[1]!;
        expect(await store.advanceReadSeq(conv, a, 3, fence())).to.equal(3);
        expect(await store.advanceReadSeq(conv, a, 2, fence())).to.equal(3);
        expect((await store.getMember(conv, a))?.readSeq).to.equal(3);
        expect(await store.advanceReadSeq(conv, a, 7, fence())).to.equal(7);
        expect((await store.getMember(conv, members[0]!))?.readSeq).to.equal(0);
      });

      it('returns null when advancing the cursor of a non-member', async function () {
        const { conv } = await newGroup('o');
        const [stranger] = await newUsers('s');
        expect(await store.advanceReadSeq(conv, stranger!, 1, fence())).to.equal(null);
        expect(await store.getMember(conv, stranger!)).to.equal(null);
      });

      it('lists memberships with read cursors, newest activity first', async function () {
        const [me, peer] = await newUsers('me', 'p');
        const older = groupRow(me!, T0 + 1_000);
        const newer = groupRow(me!, T0 + 2_000);
        await store.createGroup(older, [me!]);
        await store.createGroup(newer, [me!]);
        const other = await newGroup('o');
        const direct = await store.getOrCreateDirect(uid('d'), me!, peer!, T0 + 500);
        expect((await store.listMemberships(me!)).map((m) => m.conv.id)).to.deep.equal([newer.id, older.id, direct.conv.id]);

        const post = { ...message(older.id, 1, me!), ts: T0 + 3_000 };
        await store.appendMessages([batch([post])]);
        await store.advanceReadSeq(older.id, me!, 1, fence());
        const listed = await store.listMemberships(me!);
        expect(listed.map((m) => m.conv.id)).to.deep.equal([older.id, newer.id, direct.conv.id]);
        expect(listed[0]).to.deep.equal({ conv: { ...older, lastSeq: 1, memberCount: 1 }, readSeq: 1 });
        expect(listed[1]?.readSeq).to.equal(0);
        expect(listed.map((m) => m.conv.id)).to.not.include(other.conv);
      });

      it('lists no memberships for a user without conversations', async function () {
        const [loner] = await newUsers('l');
        expect(await store.listMemberships(loner!)).to.deep.equal([]);
        expect(await store.directPeers(loner!)).to.deep.equal([]);
      });
    });

    describe('fencing member and cursor writes', function () {
      it('refuses addMembers, removeMember and advanceReadSeq with an older epoch than the unit has seen, not retriable, changing nothing', async function () {
        const { conv, members } = await newGroup('o', 'a');
        const [newcomer] = await newUsers('n');
        const unit = uid('unit');
        await store.appendMessages([batch([], unit, 5)]);
        const refusals = [
          await rejection(store.addMembers(conv, [newcomer!], T0, fence(unit, 4))),
          await rejection(store.removeMember(conv, members[1]!, fence(unit, 4))),
          await rejection(store.advanceReadSeq(conv, members[1]!, 3, fence(unit, 4))),
        ];
        for (const err of refusals) {
          expect(err.code).to.equal('stale_epoch');
          expect(err.retriable).to.equal(false);
        }
        expect((await store.getMembers(conv)).map((m) => m.userId)).to.deep.equal(members);
        expect((await store.getConversation(conv))?.memberCount).to.equal(2);
        expect((await store.getMember(conv, members[1]!))?.readSeq).to.equal(0);
      });

      it('keeps one newest epoch per unit across appends, member and cursor writes: a newer one of any fences the others', async function () {
        const { conv, members } = await newGroup('o', 'a', 'b');
        const [newcomer] = await newUsers('n');
        const unit = uid('unit');
        await store.appendMessages([batch([message(conv, 1, members[0]!)], unit, 5)]);
        expect(await store.addMembers(conv, [newcomer!], T0, fence(unit, 6))).to.deep.equal([newcomer]);
        expect((await rejection(store.appendMessages([batch([message(conv, 2, members[0]!)], unit, 5)]))).code).to.equal('stale_epoch');
        expect(await store.advanceReadSeq(conv, members[1]!, 1, fence(unit, 7))).to.equal(1);
        expect((await rejection(store.removeMember(conv, members[2]!, fence(unit, 6)))).code).to.equal('stale_epoch');
        expect(await store.removeMember(conv, members[2]!, fence(unit, 7))).to.include({ memberCount: 3 });
        expect((await rejection(store.advanceReadSeq(conv, newcomer!, 1, fence(unit, 6)))).code).to.equal('stale_epoch');
        await store.appendMessages([batch([message(conv, 2, members[0]!)], unit, 7)]);
        expect((await store.getConversation(conv))?.lastSeq).to.equal(2);
        expect((await store.getMember(conv, newcomer!))?.readSeq).to.equal(0);
        // Other units are unaffected.
        expect(await store.advanceReadSeq(conv, newcomer!, 1, fence(uid('unit'), 1))).to.equal(1);
      });

      it('checks the fence in the write\'s own transaction: a refused member write does not keep its raised epoch', async function () {
        const { conv, members } = await newGroup('o');
        const [u] = await newUsers('u');
        const unit = uid('unit');
        await store.appendMessages([batch([], unit, 1)]);
        // Refused for another reason after the epoch was raised: the raise is rolled back with it.
        expect((await rejection(store.addMembers(uid('missing'), [u!], T0, fence(unit, 9)))).code).to.equal('not_found');
        await store.appendMessages([batch([message(conv, 1, members[0]!)], unit, 8)]);
        expect((await store.getConversation(conv))?.lastSeq).to.equal(1);
      });
    });

    if (options.fenceable) {
      describe('bound fences (fencedBy)', function () {
        it("refuses every write of a view whose bound epoch is older than its unit's newest, and still answers its reads", async function () {
          const fenceable = store as FenceableStore;
          const shard = uid('repo');
          const oldOwner = fenceable.fencedBy([fence(shard, 1)]);
          const newOwner = fenceable.fencedBy([fence(shard, 2)]);
          const early = userRow();
          await oldOwner.createUser(early); // before the new owner wrote: accepted
          const { conv, members } = await newGroup('o', 'a');
          await newOwner.appendMessages([batch([message(conv, 1, members[0]!)], uid('upstream'), 1)]);

          const [p] = await newUsers('p');
          const token = tokenRow(members[0]!, uid('fam'));
          await store.insertRefreshToken(token);
          // Each refusal is awaited at once, so none goes unhandled while the others are checked.
          const writes: Array<[string, Promise<TroupeError>]> = [
            ['createUser', rejection(oldOwner.createUser(userRow()))],
            ['insertRefreshToken', rejection(oldOwner.insertRefreshToken(tokenRow(members[0]!, uid('fam'))))],
            ['rotateRefreshToken', rejection(oldOwner.rotateRefreshToken(token.tokenHash, T0, tokenRow(members[0]!, token.familyId)))],
            ['revokeRefreshFamily', rejection(oldOwner.revokeRefreshFamily(token.familyId))],
            ['createGroup', rejection(oldOwner.createGroup(groupRow(members[0]!), [members[0]!]))],
            ['getOrCreateDirect', rejection(oldOwner.getOrCreateDirect(uid('d'), members[0]!, p!, T0))],
            ['addMembers', rejection(oldOwner.addMembers(conv, [p!], T0, fence()))],
            ['removeMember', rejection(oldOwner.removeMember(conv, members[1]!, fence()))],
            ['appendMessages', rejection(oldOwner.appendMessages([batch([message(conv, 2, members[0]!)])]))],
            ['advanceReadSeq', rejection(oldOwner.advanceReadSeq(conv, members[1]!, 1, fence()))],
          ];
          for (const [method, refused] of writes) {
            const err = await refused;
            expect(err.code, method).to.equal('stale_epoch');
            expect(err, method).to.be.instanceOf(StaleEpochError).with.property('unit', shard);
          }
          expect(await oldOwner.getUser(early.id)).to.deep.equal(early);
          expect((await store.getConversation(conv))?.lastSeq).to.equal(1);
          expect((await store.getMembers(conv)).map((m) => m.userId)).to.deep.equal(members);
          expect(await store.getRefreshToken(token.tokenHash)).to.deep.equal(token);
          expect(await store.directPeers(p!)).to.deep.equal([]);
        });

        it("names the call's own unit when its fence is the stale one, and the bound unit when that one is", async function () {
          const fenceable = store as FenceableStore;
          const shard = uid('repo');
          const upstream = uid('upstream');
          const { conv, members } = await newGroup('o', 'a');
          await store.appendMessages([batch([], upstream, 5), batch([], shard, 5)]);
          const current = fenceable.fencedBy([fence(shard, 5)]);
          const callerStale = await rejection(current.advanceReadSeq(conv, members[1]!, 1, fence(upstream, 4)));
          expect(callerStale).to.be.instanceOf(StaleEpochError).with.property('unit', upstream);
          const boundStale = await rejection(fenceable.fencedBy([fence(shard, 4)]).advanceReadSeq(conv, members[1]!, 1, fence(upstream, 5)));
          expect(boundStale).to.be.instanceOf(StaleEpochError).with.property('unit', shard);
          expect(await current.advanceReadSeq(conv, members[1]!, 1, fence(upstream, 5))).to.equal(1);
        });
      });
    }

    describe('health', function () {
      it('answers ping while the database is reachable', async function () {
        await store.ping();
      });
    });
  });
}
