/**
 * A worker's history pull (bench/gen/sync-phase.ts) against a socket the spec answers by hand:
 * pages follow `more` from the last seq received, and what comes back is checked against what the
 * run saw acked (a seq missing, a different client id at a seq, a seq twice).
 */
import { expect } from 'chai';
import type { SyncPlan } from '../../bench/gen/protocol.js';
import { SyncPhase } from '../../bench/gen/sync-phase.js';
import type { ServerFrame, WireSocket } from '../../bench/lib/wire.js';

interface SyncCall {
  conv: string;
  after: number;
  limit: number;
}

function answeringSocket(calls: SyncCall[]): WireSocket {
  return {
    index: 0,
    ready: Promise.resolve(),
    sendMessage: () => undefined,
    sync: (conv, after, limit) => calls.push({ conv, after, limit }),
    bufferedAmount: 0,
    close: () => Promise.resolve(),
  };
}

const page = (seqs: Array<[number, string]>, more: boolean): ServerFrame => ({
  type: 'history', conv: 'c_a', more, messages: seqs.map(([seq, id]) => ({ seq, id, from: 'u_x' })),
});

describe('bench: a worker history pull', () => {
  const plan: SyncPlan = { convIds: ['c_a'], pulls: [[0, 0]], limit: 2, expected: [['m1', 'm2', 'm3']] };

  it('pages from the last seq while more is true and finds the history exact', async () => {
    const calls: SyncCall[] = [];
    const phase = new SyncPhase(plan, () => answeringSocket(calls));
    const done = phase.run();
    expect(calls).to.deep.equal([{ conv: 'c_a', after: 0, limit: 2 }]);
    phase.onFrame(0, page([[1, 'm1'], [2, 'm2']], true));
    expect(calls[1]).to.deep.equal({ conv: 'c_a', after: 2, limit: 2 });
    phase.onFrame(0, page([[3, 'm3']], false));
    await done;
    const result = phase.finish();
    expect(result).to.include({ pages: 2, messages: 3, missing: 0, duplicated: 0, reordered: 0, mismatched: 0, errors: 0 });
  });

  it('counts a missing seq, a foreign id and a repeated seq', async () => {
    const calls: SyncCall[] = [];
    const phase = new SyncPhase(plan, () => answeringSocket(calls));
    const done = phase.run();
    phase.onFrame(0, page([[2, 'other'], [2, 'other']], false));
    await done;
    const result = phase.finish();
    // seq 1 skipped, seq 3 never came: 2 missing; seq 2 carried another id; seq 2 came twice.
    expect(result).to.include({ missing: 2, mismatched: 1, duplicated: 1 });
    expect(result.examples.length).to.be.greaterThan(0);
  });

  it('an error frame ends that pull as an error; a closed socket ends its pulls', async () => {
    const calls: SyncCall[] = [];
    const phase = new SyncPhase({ ...plan, pulls: [[0, 0], [1, 0]] }, () => answeringSocket(calls));
    const done = phase.run();
    phase.onFrame(0, { type: 'error', code: 'not_found', message: 'no such conversation' });
    phase.onClose(1);
    await done;
    expect(phase.finish()).to.include({ errors: 1, unexpectedCloses: 1 });
  });
});
