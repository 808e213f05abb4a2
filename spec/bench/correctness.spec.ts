/**
 * The checks that need every worker's view (bench/scenarios/correctness.ts), on worker results
 * made by hand: a clean phase is ok; a seq gap, a seq acked twice, a message that never reached
 * its recipient, one delivered twice, and a sender's messages out of send order each fail it.
 */
import { expect } from 'chai';
import type { WorkerPhaseResult } from '../../bench/gen/protocol.js';
import { encodeHistogram, newHistogram } from '../../bench/lib/hdr.js';
import { encodeMessageId } from '../../bench/lib/message-id.js';
import { checkPhase, ConversationBook } from '../../bench/scenarios/correctness.js';

const empty = encodeHistogram(newHistogram());

/** Client id of sender's n-th message in this phase. */
const id = (sender: number, n: number): string => encodeMessageId({ tag: 'spec', sender, n, intendedAt: 1_800_000_000_000 + n });

function worker(parts: Partial<WorkerPhaseResult>): WorkerPhaseResult {
  return {
    counters: { sent: 0, acked: 0, refused: 0, delivered: 0, expectedDeliveries: 0 },
    ackHistogram: empty, deliveryHistogram: empty, sendLagHistogram: empty, acks: [], missingAcks: 0, received: [], errors: {},
    duplicateAcks: 0, duplicateDeliveries: 0, reorderedDeliveries: 0, unknownFrames: 0, staleFrames: 0, unexpectedCloses: 0,
    maxBufferedBytes: 0, examples: [], ...parts,
  };
}

/** Users 0 and 1 share conversation 0; user 0 sent n = 0, 1 (seqs 1, 2), user 1 sent n = 0 (seq 3). */
function cleanPhase(): WorkerPhaseResult[] {
  return [
    worker({ counters: { sent: 2, acked: 2, refused: 0, delivered: 1, expectedDeliveries: 2 }, acks: [[0, 1, id(0, 0)], [0, 2, id(0, 1)]], received: [[0, 1, 1]] }),
    worker({ counters: { sent: 1, acked: 1, refused: 0, delivered: 2, expectedDeliveries: 1 }, acks: [[0, 3, id(1, 0)]], received: [[0, 0, 2]] }),
  ];
}

describe('bench: correctness across workers', () => {
  it('a clean phase is ok and moves the conversation to its last seq', () => {
    const book = new ConversationBook(['c_a'], [1], true);
    const { correctness } = checkPhase(cleanPhase(), book);
    expect(correctness).to.deep.equal({ sent: 3, acked: 3, delivered: 3, expectedDeliveries: 3, lost: 0, duplicated: 0, reordered: 0, errors: 0, unexpectedCloses: 0, ok: true });
    expect(book.lastSeq).to.deep.equal([3]);
    expect(book.idsBySeq[0]).to.deep.equal([id(0, 0), id(0, 1), id(1, 0)]);
  });

  it('the next phase must continue at the last checked seq: a gap is lost', () => {
    const book = new ConversationBook(['c_a'], [1]);
    checkPhase(cleanPhase(), book);
    const next = [worker({ counters: { sent: 1, acked: 1, refused: 0, delivered: 0, expectedDeliveries: 1 }, acks: [[0, 6, id(0, 0)]] }),
      worker({ received: [[0, 0, 1]], counters: { sent: 0, acked: 0, refused: 0, delivered: 1, expectedDeliveries: 0 } })];
    const { correctness, examples } = checkPhase(next, book);
    expect(correctness.lost).to.equal(2);
    expect(correctness.ok).to.equal(false);
    expect(examples.join('\n')).to.contain('seqs 4..5 never acked');
  });

  it('a seq acked for two messages is duplicated', () => {
    const phase = cleanPhase();
    phase[1]!.acks = [[0, 2, id(1, 0)]];
    const { correctness } = checkPhase(phase, new ConversationBook(['c_a'], [1]));
    expect(correctness.duplicated).to.equal(1);
    expect(correctness.ok).to.equal(false);
  });

  it('a delivery that never came is lost; one that came twice is duplicated', () => {
    const missing = cleanPhase();
    missing[1]!.received = [[0, 0, 1]];
    expect(checkPhase(missing, new ConversationBook(['c_a'], [1])).correctness).to.include({ lost: 1, duplicated: 0, ok: false });
    const twice = cleanPhase();
    twice[0]!.received = [[0, 1, 2]];
    expect(checkPhase(twice, new ConversationBook(['c_a'], [1])).correctness).to.include({ lost: 0, duplicated: 1, ok: false });
  });

  it("a sender's later message stored before its earlier one is reordered", () => {
    const phase = cleanPhase();
    phase[0]!.acks = [[0, 1, id(0, 1)], [0, 2, id(0, 0)]];
    expect(checkPhase(phase, new ConversationBook(['c_a'], [1])).correctness).to.include({ reordered: 1, ok: false });
  });

  it('error frames, unknown frames and unexpected closes each fail the phase', () => {
    for (const extra of [{ errors: { rate_limited: 1 } }, { unknownFrames: 1 }, { unexpectedCloses: 1 }, { missingAcks: 1 }]) {
      const phase = cleanPhase();
      Object.assign(phase[0]!, extra);
      expect(checkPhase(phase, new ConversationBook(['c_a'], [1])).correctness.ok, JSON.stringify(extra)).to.equal(false);
    }
  });
});
