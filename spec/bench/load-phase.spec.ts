/**
 * A generator worker's books (bench/gen/load-phase.ts), with sockets that only record what is
 * sent: every ack is matched to its send once, a refused send stops being owed, and msg frames are
 * checked per recipient (a seq twice is a duplicate, a lower one is reordered, an earlier phase's
 * frame is stale, not an error).
 */
import { expect } from 'chai';
import { LoadPhase } from '../../bench/gen/load-phase.js';
import type { LoadPlan, Tick } from '../../bench/gen/protocol.js';
import { encodeMessageId } from '../../bench/lib/message-id.js';
import type { WireSocket } from '../../bench/lib/wire.js';
import { waitFor } from '../support/wait-for.js';

interface Sent {
  conv: string;
  id: string;
}

function recordingSocket(index: number, sent: Sent[]): WireSocket {
  return {
    index,
    ready: Promise.resolve(),
    sendMessage: (conv, id) => sent.push({ conv, id }),
    sync: () => undefined,
    bufferedAmount: 0,
    close: () => Promise.resolve(),
  };
}

describe('bench: a worker load phase', () => {
  let phase: LoadPhase | undefined;

  afterEach(() => {
    phase?.finish(0);
    phase = undefined;
  });

  it('sends on schedule from its slots, matches acks once and checks msg frames per recipient', async () => {
    const sent: Sent[] = [];
    const sockets = new Map([[0, recordingSocket(0, sent)], [1, recordingSocket(1, sent)]]);
    const plan: LoadPlan = {
      tag: 'spec', rate: 400, durationSec: 0.01, startAt: Date.now(), slots: [[0, 0]], pick: 'round-robin',
      convIds: ['c_a'], recipients: [1], text: 'x',
    };
    const ticks: Tick[] = [];
    phase = new LoadPhase(plan, (user) => sockets.get(user), (tick) => ticks.push(tick));
    phase.start();
    await waitFor(() => sent.length === 4, { timeoutMs: 5000, message: 'the phase did not send its 4 messages' });
    expect(phase.windowDone).to.equal(true);
    const [a, b, c, d] = sent.map((s) => s.id);
    phase.onFrame(0, { type: 'ack', id: a, conv: 'c_a', seq: 1 });
    phase.onFrame(0, { type: 'ack', id: a, conv: 'c_a', seq: 1 });
    phase.onFrame(0, { type: 'ack', id: b, conv: 'c_a', seq: 2 });
    phase.onFrame(0, { type: 'error', ref: c, code: 'rate_limited', message: 'slow down' });
    phase.onFrame(1, { type: 'msg', id: a, conv: 'c_a', seq: 1 });
    phase.onFrame(1, { type: 'msg', id: a, conv: 'c_a', seq: 1 });
    phase.onFrame(1, { type: 'msg', id: b, conv: 'c_a', seq: 2 });
    phase.onFrame(1, { type: 'msg', id: encodeMessageId({ tag: 'old', sender: 0, n: 0, intendedAt: 0 }), conv: 'c_a', seq: 9 });
    const result = phase.finish(0);
    phase = undefined;
    expect(result.counters).to.deep.equal({ sent: 4, acked: 2, refused: 1, delivered: 2, expectedDeliveries: 3 });
    expect(result.acks).to.deep.equal([[0, 1, a], [0, 2, b]]);
    expect(result.missingAcks).to.equal(1);
    expect(result.examples.join('\n')).to.contain(`no ack nor error for ${d}`);
    expect(result.duplicateAcks).to.equal(1);
    expect(result.errors).to.deep.equal({ rate_limited: 1 });
    expect(result.duplicateDeliveries).to.equal(1);
    expect(result.staleFrames).to.equal(1);
    expect(result.received).to.deep.equal([[0, 0, 2]]);
    expect(ticks.reduce((s, t) => s + t.sent, 0)).to.equal(4);
  });

  it('a msg below one already seen is reordered; a msg of one\'s own is unknown', () => {
    const plan: LoadPlan = { tag: 'spec', rate: 0, durationSec: 1, startAt: Date.now(), slots: [], pick: 'random', convIds: ['c_a'], recipients: [1], text: 'x' };
    phase = new LoadPhase(plan, () => undefined, () => undefined);
    const msg = (n: number, seq: number, sender = 0): void =>
      phase!.onFrame(1, { type: 'msg', id: encodeMessageId({ tag: 'spec', sender, n, intendedAt: Date.now() }), conv: 'c_a', seq });
    msg(0, 5);
    msg(1, 3);
    msg(2, 6, 1);
    const result = phase.finish(0);
    phase = undefined;
    expect(result.reorderedDeliveries).to.equal(1);
    expect(result.unknownFrames).to.equal(1);
    expect(result.counters.delivered).to.equal(2);
  });
});
