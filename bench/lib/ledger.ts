/**
 * The load run's bookkeeping: what was sent when, what came back, and whether it adds up to what
 * docs/protocol.md promises. A benchmark that loses messages must say so, so every step is checked:
 *
 * - every `send` gets an `ack` (and none gets an `error`);
 * - the acked seqs of each conversation are exactly last+1, last+2, … (no gap, no duplicate);
 * - one sender's messages to one conversation get increasing seqs in the order they were sent;
 * - every online member other than the sender gets each message as a `msg` frame, once, and a
 *   member's `msg` seqs in one conversation only increase.
 *
 * Latencies are measured from a send's *scheduled* time (the open-loop clock), not from when the
 * generator got round to sending it, so a generator or server falling behind shows up in them.
 */
import type { ServerFrame } from './clients.js';
import { LatencyHistogram } from './histogram.js';
import type { BenchConversation } from './population.js';

interface SendRecord {
  sender: number;
  conv: number;
  scheduledAt: number;
  /** 0 until acked. */
  seq: number;
  /** An `error` frame refused it (so no ack will come). */
  refused: boolean;
  /** msg frames received for this message. */
  deliveries: number;
}

/** What one step's checks found; every count but `acked` and `deliveries` should be 0. */
export interface StepCheck {
  sent: number;
  acked: number;
  /** Sends without an ack (and not refused by an `error` frame) when the step's drain ended. */
  missingAcks: number;
  /** `error` frames by code. */
  errors: Record<string, number>;
  /** Seqs missing between a conversation's previous last seq and its newest acked one. */
  seqGaps: number;
  /** Seqs acked for two different messages. */
  seqDuplicates: number;
  /** Acks whose seq was not above the previous ack of the same sender and conversation. */
  sendOrderViolations: number;
  deliveries: number;
  expectedDeliveries: number;
  /** msg frames for messages of this step that did not come. */
  missingDeliveries: number;
  /** msg frames that came twice for one member, or with a seq not above that member's previous one. */
  deliveryOrderViolations: number;
  /** acks and msg frames naming a message this run never sent (e.g. a late one of an earlier step). */
  unknownFrames: number;
  examples: string[];
}

const MAX_EXAMPLES = 10;

export class Ledger {
  /** This step's latencies and counts so far; closeStep() starts them afresh. */
  ackLatency = new LatencyHistogram();
  deliveryLatency = new LatencyHistogram();
  ackCount = 0;
  deliveryCount = 0;
  private awaitedAcks = 0;
  private awaitedDeliveries = 0;

  private readonly sends = new Map<string, SendRecord>();
  private readonly convIndex = new Map<string, number>();
  /** Newest seq of each conversation already checked, by conversation index. */
  private readonly checkedSeq: number[];
  /** Per user: conversation index → newest msg seq seen. */
  private readonly lastMsgSeq: Map<number, number>[];
  private errors: Record<string, number> = {};
  private deliveryOrderViolations = 0;
  private unknownFrames = 0;
  private examples: string[] = [];

  constructor(private readonly conversations: readonly BenchConversation[], users: number) {
    conversations.forEach((c, i) => this.convIndex.set(c.id, i));
    this.checkedSeq = conversations.map(() => 0);
    this.lastMsgSeq = Array.from({ length: users }, () => new Map<number, number>());
  }

  /** Records a send about to go out; `id` must be unique in the run. */
  recordSend(id: string, sender: number, conv: number, scheduledAt: number): void {
    this.sends.set(id, { sender, conv, scheduledAt, seq: 0, refused: false, deliveries: 0 });
    this.awaitedAcks += 1;
    this.awaitedDeliveries += this.conversations[conv]!.members.length - 1;
  }

  /** Sends of this step not acked yet. */
  get inFlight(): number {
    return this.awaitedAcks;
  }

  /** Every frame received by the connection of `user`, at `now` (performance.now()). */
  onFrame(user: number, frame: ServerFrame, now: number): void {
    switch (frame.type) {
      case 'ack':
        this.onAck(user, frame, now);
        break;
      case 'msg':
        this.onMsg(user, frame, now);
        break;
      case 'error':
        this.onError(user, frame);
        break;
      default:
        // ready, presence, conversation, member…: not part of the load.
        break;
    }
  }

  /** True once every send of the step is acked and every expected delivery has come. */
  settled(): boolean {
    return this.awaitedAcks === 0 && this.awaitedDeliveries <= 0;
  }

  /** Checks the step's sends against the guarantees and forgets them, ready for the next step. */
  closeStep(): StepCheck {
    const check: StepCheck = {
      sent: this.sends.size, acked: 0, missingAcks: 0, errors: this.errors, seqGaps: 0, seqDuplicates: 0,
      sendOrderViolations: 0, deliveries: 0, expectedDeliveries: 0, missingDeliveries: 0,
      deliveryOrderViolations: this.deliveryOrderViolations, unknownFrames: this.unknownFrames, examples: this.examples,
    };
    const seqsByConv = new Map<number, number[]>();
    /** `${sender}:${conv}` → seq of that pair's previous send, in send order (Map order). */
    const lastSeqOfPair = new Map<string, number>();
    for (const [id, record] of this.sends) {
      const members = this.conversations[record.conv]!.members.length;
      check.deliveries += record.deliveries;
      if (record.refused) continue; // counted in `errors`
      check.expectedDeliveries += members - 1;
      check.missingDeliveries += Math.max(0, members - 1 - record.deliveries);
      if (record.seq === 0) {
        check.missingAcks += 1;
        this.example(`no ack for ${id} (user ${record.sender}, conversation ${this.conversations[record.conv]!.id})`);
        continue;
      }
      check.acked += 1;
      const seqs = seqsByConv.get(record.conv) ?? [];
      seqs.push(record.seq);
      seqsByConv.set(record.conv, seqs);
      const pair = `${record.sender}:${record.conv}`;
      const previous = lastSeqOfPair.get(pair) ?? 0;
      if (record.seq <= previous) {
        check.sendOrderViolations += 1;
        this.example(`user ${record.sender} sent ${id} after a message acked with seq ${previous}, but it got seq ${record.seq}`);
      }
      lastSeqOfPair.set(pair, record.seq);
    }
    for (const [conv, seqs] of seqsByConv) {
      seqs.sort((a, b) => a - b);
      let expected = this.checkedSeq[conv]! + 1;
      for (const seq of seqs) {
        if (seq < expected) {
          check.seqDuplicates += 1;
          this.example(`conversation ${this.conversations[conv]!.id}: seq ${seq} acked twice or below the checked range`);
        } else {
          if (seq > expected) {
            check.seqGaps += seq - expected;
            this.example(`conversation ${this.conversations[conv]!.id}: seqs ${expected}..${seq - 1} never acked`);
          }
          expected = seq + 1;
        }
      }
      this.checkedSeq[conv] = expected - 1;
    }
    this.sends.clear();
    this.ackLatency = new LatencyHistogram();
    this.deliveryLatency = new LatencyHistogram();
    this.ackCount = 0;
    this.deliveryCount = 0;
    this.awaitedAcks = 0;
    this.awaitedDeliveries = 0;
    this.errors = {};
    this.deliveryOrderViolations = 0;
    this.unknownFrames = 0;
    this.examples = [];
    return check;
  }

  /** The newest checked seq of every conversation, to compare with the server's lastSeq. */
  checkedLastSeqs(): ReadonlyMap<string, number> {
    return new Map(this.conversations.map((c, i) => [c.id, this.checkedSeq[i]!]));
  }

  private onAck(user: number, frame: ServerFrame, now: number): void {
    const record = frame.id === undefined ? undefined : this.sends.get(frame.id);
    if (record === undefined || record.sender !== user || frame.seq === undefined) {
      this.unknownFrames += 1;
      this.example(`ack for an unknown or foreign message ${frame.id} to user ${user}`);
      return;
    }
    if (record.seq !== 0) {
      this.unknownFrames += 1;
      this.example(`second ack for ${frame.id}`);
      return;
    }
    record.seq = frame.seq;
    this.ackCount += 1;
    this.awaitedAcks -= 1;
    this.ackLatency.recordMillis(now - record.scheduledAt);
  }

  private onError(user: number, frame: ServerFrame): void {
    const code = frame.code ?? 'unknown';
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    this.example(`error frame to user ${user}: ${code} ${frame.message ?? ''} (ref ${frame.ref ?? '-'})`);
    const record = frame.ref === undefined ? undefined : this.sends.get(frame.ref);
    if (record === undefined || record.sender !== user || record.seq !== 0 || record.refused) return;
    // No ack and no deliveries will come for a refused send: stop waiting for them.
    record.refused = true;
    this.awaitedAcks -= 1;
    this.awaitedDeliveries -= this.conversations[record.conv]!.members.length - 1;
  }

  private onMsg(user: number, frame: ServerFrame, now: number): void {
    const record = frame.id === undefined ? undefined : this.sends.get(frame.id);
    const conv = frame.conv === undefined ? undefined : this.convIndex.get(frame.conv);
    if (record === undefined || conv === undefined || frame.seq === undefined) {
      this.unknownFrames += 1;
      this.example(`msg for an unknown message ${frame.id} to user ${user}`);
      return;
    }
    const seen = this.lastMsgSeq[user]!;
    const previous = seen.get(conv) ?? 0;
    if (frame.seq <= previous || record.sender === user) {
      this.deliveryOrderViolations += 1;
      this.example(`user ${user} got msg seq ${frame.seq} of ${frame.conv} after seq ${previous}${record.sender === user ? ' (its own message)' : ''}`);
    }
    seen.set(conv, Math.max(previous, frame.seq));
    record.deliveries += 1;
    this.deliveryCount += 1;
    this.awaitedDeliveries -= 1;
    this.deliveryLatency.recordMillis(now - record.scheduledAt);
  }

  private example(line: string): void {
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(line);
  }
}
