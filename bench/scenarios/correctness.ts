/**
 * The checks that need every worker's view of a phase (each worker checks its own acks and msg
 * frames, bench/gen/load-phase.ts): a conversation's acked seqs continue from its last checked one
 * without gap or duplicate; one sender's messages to one conversation get rising seqs in the order
 * sent; every acked message reaches every online recipient exactly once. The result is the
 * report's Correctness (bench/report/types.ts), whose `ok` is false if anything is off.
 */
import type { WorkerPhaseResult } from '../gen/protocol.js';
import { decodeMessageId } from '../lib/message-id.js';
import type { Correctness } from '../report/types.js';

const MAX_EXAMPLES = 10;

/** What the run knows about each conversation across phases: its newest checked seq and, when kept, the client id at each seq. */
export class ConversationBook {
  readonly lastSeq: number[];
  /** Per conversation, the client id acked at seq s (index s − 1); filled only when `keepIds`. */
  readonly idsBySeq: string[][];

  constructor(readonly convIds: readonly string[], readonly recipients: readonly number[], private readonly keepIds = false) {
    this.lastSeq = convIds.map(() => 0);
    this.idsBySeq = convIds.map(() => []);
  }

  get keepsIds(): boolean {
    return this.keepIds;
  }
}

export interface PhaseCheck {
  correctness: Correctness;
  examples: string[];
}

export function checkPhase(results: readonly WorkerPhaseResult[], book: ConversationBook): PhaseCheck {
  const examples = results.flatMap((r) => r.examples).slice(0, MAX_EXAMPLES);
  const example = (line: string): void => {
    if (examples.length < MAX_EXAMPLES) examples.push(line);
  };
  const sum = (pick: (r: WorkerPhaseResult) => number): number => results.reduce((s, r) => s + pick(r), 0);

  const byConv = new Map<number, Array<[number, string]>>();
  for (const r of results) {
    for (const [conv, seq, id] of r.acks) {
      const list = byConv.get(conv) ?? [];
      list.push([seq, id]);
      byConv.set(conv, list);
    }
  }
  let seqGaps = 0;
  let seqDuplicates = 0;
  let sendOrder = 0;
  const ackedPerSender = new Map<string, number>();
  for (const [conv, acks] of byConv) {
    acks.sort((a, b) => a[0] - b[0]);
    let expected = book.lastSeq[conv]! + 1;
    for (const [seq, id] of acks) {
      if (seq < expected) {
        seqDuplicates += 1;
        example(`conversation ${book.convIds[conv]}: seq ${seq} acked twice (or below the checked range)`);
        continue;
      }
      if (seq > expected) {
        seqGaps += seq - expected;
        example(`conversation ${book.convIds[conv]}: seqs ${expected}..${seq - 1} never acked`);
      }
      if (book.keepsIds) book.idsBySeq[conv]![seq - 1] = id;
      expected = seq + 1;
    }
    book.lastSeq[conv] = expected - 1;
    // Send order: in seq order, each sender's counters must rise.
    const lastN = new Map<number, number>();
    for (const [seq, id] of acks) {
      const key = decodeMessageId(id);
      if (key === undefined) continue;
      const senderKey = `${conv}:${key.sender}`;
      ackedPerSender.set(senderKey, (ackedPerSender.get(senderKey) ?? 0) + 1);
      const previous = lastN.get(key.sender);
      if (previous !== undefined && key.n < previous) {
        sendOrder += 1;
        example(`conversation ${book.convIds[conv]}: user ${key.sender}'s message ${key.n} got seq ${seq}, after a later one of its messages`);
      }
      lastN.set(key.sender, key.n);
    }
  }

  const receivedPerSender = new Map<string, number>();
  for (const r of results) {
    for (const [conv, sender, count] of r.received) receivedPerSender.set(`${conv}:${sender}`, (receivedPerSender.get(`${conv}:${sender}`) ?? 0) + count);
  }
  let undelivered = 0;
  let extraDeliveries = 0;
  for (const key of new Set([...ackedPerSender.keys(), ...receivedPerSender.keys()])) {
    const conv = Number(key.split(':')[0]);
    const owed = (ackedPerSender.get(key) ?? 0) * book.recipients[conv]!;
    const got = receivedPerSender.get(key) ?? 0;
    if (got < owed) {
      undelivered += owed - got;
      example(`conversation ${book.convIds[conv]}: ${owed - got} of ${owed} deliveries of user ${key.split(':')[1]}'s messages never came`);
    } else if (got > owed) {
      extraDeliveries += got - owed;
      example(`conversation ${book.convIds[conv]}: ${got - owed} more deliveries of user ${key.split(':')[1]}'s messages than sent times recipients`);
    }
  }

  const errorFrames = sum((r) => Object.values(r.errors).reduce((a, b) => a + b, 0));
  const lost = sum((r) => r.missingAcks) + seqGaps + undelivered;
  const duplicated = sum((r) => r.duplicateAcks + r.duplicateDeliveries) + seqDuplicates + extraDeliveries;
  const reordered = sum((r) => r.reorderedDeliveries) + sendOrder;
  const errors = errorFrames + sum((r) => r.unknownFrames);
  const unexpectedCloses = sum((r) => r.unexpectedCloses);
  return {
    correctness: {
      sent: sum((r) => r.counters.sent),
      acked: sum((r) => r.counters.acked),
      delivered: sum((r) => r.counters.delivered),
      expectedDeliveries: sum((r) => r.counters.expectedDeliveries),
      lost,
      duplicated,
      reordered,
      errors,
      unexpectedCloses,
      ok: lost + duplicated + reordered + errors + unexpectedCloses === 0,
    },
    examples,
  };
}

/** Adds up the correctness of several phases (a ramp's steps, a sync's fill and pull). */
export function addCorrectness(parts: readonly Correctness[]): Correctness {
  const total: Correctness = { sent: 0, acked: 0, delivered: 0, expectedDeliveries: 0, lost: 0, duplicated: 0, reordered: 0, errors: 0, unexpectedCloses: 0, ok: true };
  for (const c of parts) {
    total.sent += c.sent;
    total.acked += c.acked;
    total.delivered += c.delivered;
    total.expectedDeliveries += c.expectedDeliveries;
    total.lost += c.lost;
    total.duplicated += c.duplicated;
    total.reordered += c.reordered;
    total.errors += c.errors;
    total.unexpectedCloses += c.unexpectedCloses;
    total.ok &&= c.ok;
  }
  return total;
}

/** A run that sent nothing (connect): only failures to open and unexpected closes count. */
export function connectionCorrectness(failedToOpen: number, unexpectedCloses: number): Correctness {
  return {
    sent: 0, acked: 0, delivered: 0, expectedDeliveries: 0, lost: 0, duplicated: 0, reordered: 0,
    errors: failedToOpen, unexpectedCloses, ok: failedToOpen + unexpectedCloses === 0,
  };
}
