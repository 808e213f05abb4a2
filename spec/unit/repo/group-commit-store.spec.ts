/**
 * GroupCommitStore (actors/repo/group-commit-store.ts) over a fake Store whose appendMessages
 * records its calls and can be held or made to fail: appends to a busy shard are combined, an
 * idle shard writes at once, a failed combined write is retried per caller (unless the store's
 * own bound fence refused it), and every other method passes through.
 */
import { expect } from 'chai';
import { GroupCommitStore } from '../../../actors/repo/group-commit-store.js';
import { TroupeError, isTroupeError } from '../../../transport/errors.js';
import { partitionFor } from '../../../transport/log/partitioner.js';
import { StaleEpochError, type FencedBatch, type MessageRow, type Store } from '../../../transport/store/port.js';
import { waitFor } from '../../support/wait-for.js';

const SHARDS = 8;

/** Every Store method but appendMessages, with its parameter count (the type requires all). */
const PASS_THROUGH_ARITY: Record<Exclude<keyof Store, 'appendMessages'>, number> = {
  createUser: 1, getUser: 1, getUserByUsername: 1, getUsers: 1, insertRefreshToken: 1, getRefreshToken: 1,
  rotateRefreshToken: 3, revokeRefreshFamily: 1, createGroup: 2, getOrCreateDirect: 4, getConversation: 1,
  getMembers: 1, listMembers: 3, getMember: 2, listMemberships: 1, directPeers: 1, addMembers: 4, removeMember: 3,
  listMessages: 3, findByClientIds: 2, advanceReadSeq: 4, ping: 0, close: 0,
};
const PASS_THROUGH = Object.keys(PASS_THROUGH_ARITY) as Array<keyof typeof PASS_THROUGH_ARITY>;

/** The store under the group commit: records calls; appends can be held and can fail. */
class FakeStore {
  readonly appendCalls: Array<readonly FencedBatch[]> = [];
  readonly otherCalls: Array<{ method: string; args: unknown[] }> = [];
  /** While set, appendMessages waits for it before answering. */
  hold: Promise<void> | null = null;
  /** Decides the outcome of each appendMessages call; undefined succeeds. */
  failWith: (batches: readonly FencedBatch[]) => TroupeError | undefined = () => undefined;

  asStore(): Store {
    const store: Record<string, unknown> = {
      appendMessages: async (batches: readonly FencedBatch[]) => {
        this.appendCalls.push(batches);
        if (this.hold !== null) await this.hold;
        const failure = this.failWith(batches);
        if (failure !== undefined) throw failure;
      },
    };
    for (const method of PASS_THROUGH) {
      store[method] = async (...args: unknown[]) => {
        this.otherCalls.push({ method, args });
        return { resultOf: method };
      };
    }
    return store as unknown as Store;
  }

  /** Holds every appendMessages until the returned function is called. */
  holdAppends(): () => void {
    let release!: () => void;
    this.hold = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.hold = null;
      release();
    };
  }
}

/** `count` distinct conversation ids that all belong to `shard`. */
function convsInShard(shard: number, count: number, tag: string): string[] {
  const convs: string[] = [];
  for (let i = 0; convs.length < count; i++) {
    const conv = `c_${tag}${i}`;
    if (partitionFor(conv, SHARDS) === shard) convs.push(conv);
  }
  return convs;
}

function batchOf(conv: string, rows: number, epoch = 1): FencedBatch {
  const messages: MessageRow[] = Array.from({ length: rows }, (_, i) => ({
    conv,
    seq: i + 1,
    id: `m_${conv}_${i}`,
    from: 'u_sender',
    clientId: `client-${i}`,
    body: '{"text":"hi"}',
    ts: 1_700_000_000_000,
  }));
  return { unit: 'upstream/0', epoch, messages };
}

/** Conversations of the batches of one inner call, in order. */
function convsOf(call: readonly FencedBatch[]): string[] {
  return call.map((b) => b.messages[0]!.conv);
}

/** Resolves after the microtasks queued so far and one turn of the event loop, before any timer of 1 ms or more. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function settledState(promise: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const seen: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (seen.state = 'resolved'),
    (error: unknown) => Object.assign(seen, { state: 'rejected', error }),
  );
  return seen;
}

describe('GroupCommitStore', function () {
  let fake: FakeStore;

  beforeEach(function () {
    fake = new FakeStore();
  });

  function groupCommit(batchMaxRows = 10, batchMaxDelayMs = 0): GroupCommitStore {
    return new GroupCommitStore(fake.asStore(), { shards: SHARDS, batchMaxRows, batchMaxDelayMs });
  }

  it('writes at once on an idle shard', async function () {
    const store = groupCommit();
    const [conv] = convsInShard(0, 1, 'idle');
    const written = store.appendMessages([batchOf(conv!, 2)]);
    await nextTurn();
    expect(fake.appendCalls.map(convsOf)).to.deep.equal([[conv]]);
    await written;
  });

  it('combines appends that arrive while the shard writes into one call, up to batchMaxRows', async function () {
    const store = groupCommit(10);
    const convs = convsInShard(3, 5, 'busy');
    const release = fake.holdAppends();
    const first = settledState(store.appendMessages([batchOf(convs[0]!, 1)]));
    await nextTurn();
    expect(fake.appendCalls).to.have.length(1);

    // 2 + 3 + 5 rows fill the next write exactly; the last one waits for the write after.
    const queued = [
      settledState(store.appendMessages([batchOf(convs[1]!, 2)])),
      settledState(store.appendMessages([batchOf(convs[2]!, 3)])),
      settledState(store.appendMessages([batchOf(convs[3]!, 5)])),
      settledState(store.appendMessages([batchOf(convs[4]!, 1)])),
    ];
    await nextTurn();
    expect(fake.appendCalls, 'nothing more is written while the shard is busy').to.have.length(1);
    expect(first.state).to.equal('pending');
    expect(queued.map((q) => q.state)).to.deep.equal(['pending', 'pending', 'pending', 'pending']);

    release();
    await waitFor(() => [first, ...queued].every((q) => q.state === 'resolved'), { message: 'every append to resolve' });
    expect(fake.appendCalls.map(convsOf)).to.deep.equal([[convs[0]], [convs[1], convs[2], convs[3]], [convs[4]]]);
  });

  it('sends an append larger than batchMaxRows on its own', async function () {
    const store = groupCommit(4);
    const convs = convsInShard(1, 3, 'big');
    const release = fake.holdAppends();
    const writes = [store.appendMessages([batchOf(convs[0]!, 1)])];
    await nextTurn();
    writes.push(store.appendMessages([batchOf(convs[1]!, 9)]), store.appendMessages([batchOf(convs[2]!, 1)]));
    release();
    await Promise.all(writes);
    expect(fake.appendCalls.map(convsOf)).to.deep.equal([[convs[0]], [convs[1]], [convs[2]]]);
  });

  it('does not hold a shard back while another shard writes', async function () {
    const store = groupCommit();
    const [busy] = convsInShard(2, 1, 'one');
    const [other] = convsInShard(5, 1, 'two');
    const release = fake.holdAppends();
    const writes = [store.appendMessages([batchOf(busy!, 1)])];
    await nextTurn();
    writes.push(store.appendMessages([batchOf(other!, 1)]));
    await nextTurn();
    expect(fake.appendCalls.map(convsOf), 'the second shard wrote while the first was busy').to.deep.equal([[busy], [other]]);
    release();
    await Promise.all(writes);
  });

  it('starts a shard\'s writes at least batchMaxDelayMs apart, combining what arrives meanwhile', async function () {
    const store = groupCommit(10, 300);
    const convs = convsInShard(4, 3, 'paced');
    await store.appendMessages([batchOf(convs[0]!, 1)]);
    expect(fake.appendCalls, 'a shard idle for longer than the delay writes at once').to.have.length(1);
    const writes = [store.appendMessages([batchOf(convs[1]!, 1)]), store.appendMessages([batchOf(convs[2]!, 1)])];
    await nextTurn();
    expect(fake.appendCalls, 'nothing written before the delay since the last start').to.have.length(1);
    await Promise.all(writes);
    expect(fake.appendCalls.map(convsOf)).to.deep.equal([[convs[0]], [convs[1], convs[2]]]);
  });

  it('does not hold back a full batch for the delay', async function () {
    const store = groupCommit(2, 60_000);
    const convs = convsInShard(4, 3, 'full');
    await store.appendMessages([batchOf(convs[0]!, 1)]);
    // Two rows fill batchMaxRows: they are written now, not a minute after the first start.
    await Promise.all([store.appendMessages([batchOf(convs[1]!, 1)]), store.appendMessages([batchOf(convs[2]!, 1)])]);
    expect(fake.appendCalls.map(convsOf)).to.deep.equal([[convs[0]], [convs[1], convs[2]]]);
  });

  it("retries a failed combined write per caller, so one caller's stale epoch fails no other", async function () {
    const store = groupCommit(10);
    const convs = convsInShard(6, 4, 'stale');
    const stale = convs[2]!;
    fake.failWith = (batches) =>
      batches.some((b) => b.epoch < 5) ? new TroupeError('stale_epoch', `epoch of ${stale} is older than the newest`) : undefined;
    const release = fake.holdAppends();
    const first = settledState(store.appendMessages([batchOf(convs[0]!, 1, 7)]));
    await nextTurn();
    const good1 = settledState(store.appendMessages([batchOf(convs[1]!, 1, 7)]));
    const bad = settledState(store.appendMessages([batchOf(stale, 1, 3)]));
    const good2 = settledState(store.appendMessages([batchOf(convs[3]!, 2, 9)]));
    release();

    await waitFor(() => [first, good1, bad, good2].every((q) => q.state !== 'pending'), { message: 'every append to settle' });
    expect([first.state, good1.state, good2.state]).to.deep.equal(['resolved', 'resolved', 'resolved']);
    expect(bad.state).to.equal('rejected');
    expect(isTroupeError(bad.error, 'stale_epoch'), String(bad.error)).to.equal(true);

    const calls = fake.appendCalls.map(convsOf);
    expect(calls[0]).to.deep.equal([convs[0]]);
    expect(calls[1], 'the combined write').to.deep.equal([convs[1], stale, convs[3]]);
    expect(calls.slice(2).sort(), 'then each caller alone').to.deep.equal([[convs[1]], [convs[3]], [stale]].sort());
  });

  it("fails every caller of a combined write at once when the stale epoch is the store's own bound fence, a unit none of them carry", async function () {
    const store = groupCommit(10);
    const convs = convsInShard(6, 3, 'bound');
    // A repo node's shard view: its bound unit is stale, whatever the callers' batches are.
    fake.failWith = () => new StaleEpochError('appendMessages', 'repo/6', 1, 2);
    const release = fake.holdAppends();
    const first = settledState(store.appendMessages([batchOf(convs[0]!, 1, 7)]));
    await nextTurn();
    const queued = [settledState(store.appendMessages([batchOf(convs[1]!, 1, 7)])), settledState(store.appendMessages([batchOf(convs[2]!, 1, 7)]))];
    release();

    await waitFor(() => [first, ...queued].every((q) => q.state !== 'pending'), { message: 'every append to settle' });
    for (const q of [first, ...queued]) {
      expect(q.state).to.equal('rejected');
      expect(q.error).to.be.instanceOf(StaleEpochError).with.property('unit', 'repo/6');
    }
    expect(fake.appendCalls.map(convsOf), 'no per-caller retries').to.deep.equal([[convs[0]], [convs[1], convs[2]]]);
  });

  it('rejects a lone caller with the store error, without a second attempt', async function () {
    const store = groupCommit();
    const [conv] = convsInShard(7, 1, 'lone');
    fake.failWith = () => new TroupeError('unavailable', 'database down');
    let caught: unknown;
    await store.appendMessages([batchOf(conv!, 1)]).catch((err: unknown) => (caught = err));
    expect(isTroupeError(caught, 'unavailable'), String(caught)).to.equal(true);
    expect(fake.appendCalls).to.have.length(1);

    // The shard is free again: the next append is written.
    fake.failWith = () => undefined;
    await store.appendMessages([batchOf(conv!, 1)]);
    expect(fake.appendCalls).to.have.length(2);
  });

  it('resolves an empty append without writing, and passes a batch without messages straight on (the store fences it)', async function () {
    const store = groupCommit();
    await store.appendMessages([]);
    expect(fake.appendCalls).to.have.length(0);
    await store.appendMessages([{ unit: 'upstream/0', epoch: 1, messages: [] }]);
    expect(fake.appendCalls).to.deep.equal([[{ unit: 'upstream/0', epoch: 1, messages: [] }]]);
  });

  it('passes every other method through with its arguments and result', async function () {
    const store = groupCommit() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const method of PASS_THROUGH) {
      const args = [`${method}-a`, { n: method.length }, [method], 42].slice(0, PASS_THROUGH_ARITY[method]);
      const result = await store[method]!(...args);
      expect(result, method).to.deep.equal({ resultOf: method });
      expect(fake.otherCalls.at(-1), method).to.deep.equal({ method, args });
    }
    expect(fake.otherCalls).to.have.length(PASS_THROUGH.length);
    expect(fake.appendCalls).to.have.length(0);
  });
});
