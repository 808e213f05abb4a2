/**
 * A task node's copy of large groups' members (actors/task/member-directory.ts): read from the
 * repo once per group, kept current by `members` jobs, read again when a whole-slot job's digest
 * differs (at most once per `reloadAfterMs`), bounded in members, and never poisoned by a failed
 * read. The store is a double whose `getMembers` answers from a member table and fails on cue.
 */
import { expect } from 'chai';
import { SlotDigests, slotOf } from '../../../actors/logic/member-slots.js';
import type { MembersJobRecord, SlotDigest } from '../../../actors/records/types.js';
import { MemberDirectory, type MemberDirectoryOptions } from '../../../actors/task/member-directory.js';
import { TroupeError } from '../../../transport/errors.js';
import type { MemberRow, Store } from '../../../transport/store/port.js';
import { expectRejection } from '../auth/expect-rejection.js';

const POOL = 4;

/** The repo as the directory sees it: members per conversation, reads counted, failures on cue. */
class MemberTable {
  readonly groups = new Map<string, Map<string, number>>();
  readonly reads: string[] = [];
  readonly failures: TroupeError[] = [];
  /** When set, reads wait for it. */
  gate: Promise<void> | null = null;

  set(conv: string, users: readonly string[]): void {
    this.groups.set(conv, new Map(users.map((u) => [u, 0])));
  }

  readonly store = {
    getMembers: async (conv: string): Promise<MemberRow[]> => {
      this.reads.push(conv);
      const failure = this.failures.shift();
      if (failure !== undefined) throw failure;
      const rows = [...(this.groups.get(conv) ?? new Map<string, number>())].map(([userId, readSeq]) => ({ userId, readSeq, joinedAt: 1 }));
      if (this.gate !== null) await this.gate;
      return rows;
    },
  } as unknown as Store;
}

const users = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
/** What logic would send for `members`, counted at `countedAt`: the digest of the slot `user` is in. */
function digestOf(members: readonly string[], user: string, poolSize = POOL, countedAt = 1): SlotDigest {
  const slot = slotOf(user, poolSize);
  return new SlotDigests(members, poolSize, countedAt).nonEmpty().find((d) => d.slot === slot) ?? { slot, poolSize, count: 0, hash: 0, countedAt };
}
const change = (conv: string, c: Partial<Omit<MembersJobRecord, 'type' | 'conv'>>): MembersJobRecord => ({ type: 'members', conv, added: [], removed: [], cursors: [], ...c });

describe('MemberDirectory: a task node’s copy of large groups', function () {
  let table: MemberTable;
  let clock: number;
  let loads: Array<{ conv: string; reason: string; members: number }>;
  const open = (options: MemberDirectoryOptions = {}): MemberDirectory =>
    new MemberDirectory(table.store, { now: () => clock, onLoad: (conv, reason, members) => loads.push({ conv, reason, members }), ...options });

  beforeEach(function () {
    table = new MemberTable();
    clock = 1_000_000;
    loads = [];
  });

  it('reads a group once for all its slots, however many workers ask at once, and gives each slot its members with their read cursors', async function () {
    const members = users('u', 200);
    table.set('c-1', members);
    table.groups.get('c-1')!.set('u-7', 42);
    const directory = open();
    const slots = await Promise.all(members.slice(0, 50).map((u) => directory.slot('c-1', digestOf(members, u))));
    expect(table.reads).to.deep.equal(['c-1']);
    expect(loads).to.deep.equal([{ conv: 'c-1', reason: 'first use', members: 200 }]);
    const all = new Map<number, ReadonlyMap<string, number>>();
    for (const [i, slot] of slots.entries()) all.set(slotOf(members[i]!, POOL), slot);
    for (const [slot, held] of all) expect([...held.keys()].sort()).to.deep.equal(members.filter((u) => slotOf(u, POOL) === slot).sort());
    expect(all.get(slotOf('u-7', POOL))!.get('u-7')).to.equal(42);
    expect(directory.size).to.equal(200);
  });

  it('follows joins, leaves and read cursors without reading again; replays change nothing and cursors only move forward', async function () {
    let members = users('u', 40);
    table.set('c-1', members);
    const directory = open();
    await directory.slot('c-1', digestOf(members, 'u-0'));
    const joined = users('new', 10);
    const job = change('c-1', { added: joined, removed: ['u-3', 'u-never'], cursors: [{ user: 'u-5', seq: 9 }] });
    directory.apply(job);
    directory.apply(job); // a replay
    directory.apply(change('c-1', { cursors: [{ user: 'u-5', seq: 4 }, { user: 'u-never', seq: 4 }] }));
    members = [...members.filter((u) => u !== 'u-3'), ...joined];
    for (const user of members) {
      const held = await directory.slot('c-1', digestOf(members, user));
      expect(held.has(user), user).to.equal(true);
      expect(held.has('u-3')).to.equal(false);
    }
    expect((await directory.slot('c-1', digestOf(members, 'u-5'))).get('u-5'), 'the later, higher cursor').to.equal(9);
    expect(table.reads, 'one read: every digest matched').to.deep.equal(['c-1']);
    expect(directory.size).to.equal(members.length);
  });

  it('reads a group again when a digest differs, at most once per reloadAfterMs, and uses the copy as it is in between', async function () {
    const members = users('u', 30);
    table.set('c-1', members);
    const directory = open({ reloadAfterMs: 1000 });
    await directory.slot('c-1', digestOf(members, 'u-0'));
    // A join the task node never heard of (its `members` job was lost).
    const now = [...members, 'u-late'];
    table.set('c-1', now);
    clock += 10;
    const stale = await directory.slot('c-1', digestOf(now, 'u-late'));
    expect(stale.has('u-late'), 'within reloadAfterMs: the copy as it is').to.equal(false);
    expect(table.reads).to.have.length(1);
    clock += 1000;
    const fresh = await directory.slot('c-1', digestOf(now, 'u-late'));
    expect(fresh.has('u-late'), 'read again').to.equal(true);
    expect(loads.map((l) => l.reason)).to.deep.equal(['first use', 'digest differs']);
    clock += 5000;
    await directory.slot('c-1', digestOf(now, 'u-late'));
    expect(table.reads, 'a matching digest reads nothing').to.have.length(2);
  });

  it('reads a group again, once, when logic counted its digests anew, however recent the copy; an older count reads nothing', async function () {
    const members = users('u', 30);
    table.set('c-1', members);
    const directory = open({ reloadAfterMs: 60_000 });
    await directory.slot('c-1', digestOf(members, 'u-0', POOL, 1));
    // A read cursor moved while the group was small (no `members` job told the task node).
    table.groups.get('c-1')!.set('u-0', 7);
    const counted = await Promise.all(members.slice(0, 10).map((u) => directory.slot('c-1', digestOf(members, u, POOL, 2))));
    expect(counted[0]!.get('u-0'), 'the cursor read again').to.equal(7);
    await directory.slot('c-1', digestOf(members, 'u-1', POOL, 1)); // a slot still on jobs from before
    await directory.slot('c-1', digestOf(members, 'u-2', POOL, 2));
    expect(loads.map((l) => l.reason)).to.deep.equal(['first use', 'counted again']);
  });

  it('reads a group again for another pool size', async function () {
    const members = users('u', 30);
    table.set('c-1', members);
    const directory = open();
    await directory.slot('c-1', digestOf(members, 'u-0'));
    const eight = await directory.slot('c-1', digestOf(members, 'u-0', 8));
    expect([...eight.keys()].sort()).to.deep.equal(members.filter((u) => slotOf(u, 8) === slotOf('u-0', 8)).sort());
    expect(loads.map((l) => l.reason)).to.deep.equal(['first use', 'pool size changed']);
  });

  it('rejects with the repo’s error and keeps nothing of a failed read, so the retried job reads again', async function () {
    const members = users('u', 20);
    table.set('c-1', members);
    table.failures.push(new TroupeError('unavailable', 'repo down'));
    const directory = open();
    await expectRejection(directory.slot('c-1', digestOf(members, 'u-0')), 'unavailable', 'repo down');
    expect(directory.size).to.equal(0);
    const held = await directory.slot('c-1', digestOf(members, 'u-0'));
    expect(held.has('u-0')).to.equal(true);
    expect(table.reads).to.deep.equal(['c-1', 'c-1']);
  });

  it('applies a change that arrives while the group is being read after the read', async function () {
    const members = users('u', 20);
    table.set('c-1', members);
    let open_!: () => void;
    table.gate = new Promise<void>((resolve) => (open_ = resolve));
    const directory = open();
    const reading = directory.slot('c-1', digestOf(members, 'u-0'));
    await new Promise((resolve) => setImmediate(resolve)); // the read has begun, with the old rows
    directory.apply(change('c-1', { added: ['u-joined'], removed: ['u-1'] }));
    open_();
    await reading;
    await new Promise((resolve) => setImmediate(resolve));
    const now = [...members.filter((u) => u !== 'u-1'), 'u-joined'];
    expect((await directory.slot('c-1', digestOf(now, 'u-joined'))).has('u-joined')).to.equal(true);
    expect((await directory.slot('c-1', digestOf(now, 'u-1'))).has('u-1')).to.equal(false);
    expect(table.reads, 'the change caught up with the read: no second read').to.deep.equal(['c-1']);
  });

  it('keeps at most maxMembers, dropping the least recently used group, and drops groups idle for idleMs', async function () {
    for (const conv of ['c-a', 'c-b', 'c-c']) table.set(conv, users(conv, 600));
    const directory = open({ maxMembers: 1500, idleMs: 60_000 });
    const use = (conv: string): Promise<unknown> => directory.slot(conv, digestOf(users(conv, 600), `${conv}-0`));
    await use('c-a');
    await use('c-b');
    await use('c-a'); // c-b is now the least recently used
    await use('c-c');
    expect(directory.size).to.equal(1200);
    await use('c-a');
    expect(table.reads.filter((c) => c === 'c-a'), 'c-a stayed').to.have.length(1);
    await use('c-b');
    expect(table.reads.filter((c) => c === 'c-b'), 'c-b was dropped and read again').to.have.length(2);
    clock += 60_000;
    await use('c-a');
    expect(directory.size, 'the idle groups dropped, c-a read again').to.equal(600);
    expect(table.reads.filter((c) => c === 'c-a')).to.have.length(2);
  });

  it('ignores a change to a group it holds no copy of: the first read brings it', async function () {
    table.set('c-1', ['u-1']);
    const directory = open();
    directory.apply(change('c-1', { added: ['u-2'] }));
    expect(directory.size).to.equal(0);
    expect(table.reads).to.deep.equal([]);
  });
});
