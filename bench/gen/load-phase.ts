/**
 * One timed-load phase inside a generator worker: sends on the open-loop schedule
 * (bench/lib/open-loop.ts) from this worker's slots, and books every ack, error and msg frame its
 * sockets receive.
 *
 * What can be checked here is checked here: an ack for a send this worker made, once; a msg for a
 * message of this phase, whose seq only rises per recipient and conversation. What needs every
 * worker's view (seqs of a conversation without gap or duplicate, each message delivered to every
 * recipient once) is shipped to the parent as acks and per-sender delivery counts
 * (bench/gen/pool.ts checks them).
 *
 * Latency is taken from each send's intended time, carried in its client id
 * (bench/lib/message-id.ts), so a recipient in another worker times it without a table.
 */
import { encodeHistogram, newHistogram, recordMillis } from '../lib/hdr.js';
import { decodeMessageId, encodeMessageId, epochMillis } from '../lib/message-id.js';
import { OpenLoopSchedule } from '../lib/open-loop.js';
import type { ServerFrame, WireSocket } from '../lib/wire.js';
import type { Counters, LoadPlan, Tick, WorkerPhaseResult } from './protocol.js';

const MAX_EXAMPLES = 10;

interface PendingSend {
  conv: number;
  sender: number;
}

export class LoadPhase {
  private readonly schedule: OpenLoopSchedule | undefined;
  private readonly convIndex = new Map<string, number>();
  private readonly counters: Counters = { sent: 0, acked: 0, refused: 0, delivered: 0, expectedDeliveries: 0 };
  private readonly pending = new Map<string, PendingSend>();
  private readonly nextN = new Map<number, number>();
  private readonly acks: Array<[number, number, string]> = [];
  private readonly received = new Map<string, number>();
  /** Per recipient user: conversation index → highest msg seq seen. */
  private readonly lastSeq = new Map<number, Map<number, number>>();
  private readonly errors: Record<string, number> = {};
  private readonly examples: string[] = [];
  private readonly ack = newHistogram();
  private readonly delivery = newHistogram();
  private readonly sendLag = newHistogram();
  private tickAck = newHistogram();
  private tickDelivery = newHistogram();
  private tickCounts = { sent: 0, acked: 0, delivered: 0 };
  private nextSlot = 0;
  private duplicateAcks = 0;
  private duplicateDeliveries = 0;
  private reorderedDeliveries = 0;
  private unknownFrames = 0;
  private staleFrames = 0;
  private maxBufferedBytes = 0;
  private sendTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private lastTick = 0;

  constructor(
    private readonly plan: LoadPlan,
    private readonly socketOf: (user: number) => WireSocket | undefined,
    private readonly emitTick: (tick: Tick) => void,
  ) {
    plan.convIds.forEach((id, i) => this.convIndex.set(id, i));
    const total = Math.round(plan.rate * plan.durationSec);
    this.schedule = plan.rate > 0 && plan.slots.length > 0 && total > 0 ? new OpenLoopSchedule({ rate: plan.rate, startAt: plan.startAt, total }) : undefined;
  }

  /** Starts sending (at startAt) and ticking once a second until finish(). */
  start(): void {
    if (this.schedule !== undefined) this.sendTimer = setInterval(() => this.sendDue(), 1);
    const firstTick = Math.max(0, this.plan.startAt + 1000 - Date.now());
    this.tickTimer = setTimeout(() => {
      this.flushTick();
      this.tickTimer = setInterval(() => this.flushTick(), 1000);
    }, firstTick);
  }

  /** True once every send of the window has been handed to its socket. */
  get windowDone(): boolean {
    return this.schedule === undefined ? Date.now() >= this.plan.startAt + this.plan.durationSec * 1000 : this.schedule.done;
  }

  status(): Counters {
    return { ...this.counters };
  }

  onFrame(user: number, frame: ServerFrame): void {
    if (frame.type === 'ack') this.onAck(user, frame);
    else if (frame.type === 'msg') this.onMsg(user, frame);
    else if (frame.type === 'error') this.onError(user, frame);
  }

  /** Stops the timers and returns what the phase found. */
  finish(unexpectedCloses: number): WorkerPhaseResult {
    clearInterval(this.sendTimer);
    clearInterval(this.tickTimer);
    clearTimeout(this.tickTimer);
    this.flushTick();
    for (const [id] of this.pending) this.example(`no ack nor error for ${id}`);
    return {
      counters: this.status(),
      ackHistogram: encodeHistogram(this.ack),
      deliveryHistogram: encodeHistogram(this.delivery),
      sendLagHistogram: encodeHistogram(this.sendLag),
      acks: this.acks,
      missingAcks: this.pending.size,
      received: [...this.received].map(([key, count]) => {
        const [conv, sender] = key.split(':').map(Number);
        return [conv!, sender!, count];
      }),
      errors: this.errors,
      duplicateAcks: this.duplicateAcks,
      duplicateDeliveries: this.duplicateDeliveries,
      reorderedDeliveries: this.reorderedDeliveries,
      unknownFrames: this.unknownFrames,
      staleFrames: this.staleFrames,
      unexpectedCloses,
      maxBufferedBytes: this.maxBufferedBytes,
      examples: this.examples,
    };
  }

  private sendDue(): void {
    const schedule = this.schedule!;
    const now = epochMillis();
    const { slots, convIds, recipients, text, tag } = this.plan;
    for (const due of schedule.due(now)) {
      const slot = this.plan.pick === 'random' ? slots[Math.floor(Math.random() * slots.length)]! : slots[this.nextSlot++ % slots.length]!;
      const [sender, conv] = slot;
      const socket = this.socketOf(sender);
      const n = this.nextN.get(sender) ?? 0;
      this.nextN.set(sender, n + 1);
      const id = encodeMessageId({ tag, sender, n, intendedAt: due.intendedAt });
      this.pending.set(id, { conv, sender });
      this.counters.sent += 1;
      this.counters.expectedDeliveries += recipients[conv]!;
      this.tickCounts.sent += 1;
      recordMillis(this.sendLag, now - due.intendedAt);
      if (socket === undefined) {
        this.example(`user ${sender} has no open socket in this worker`);
        continue;
      }
      socket.sendMessage(convIds[conv]!, id, text);
      if (socket.bufferedAmount > this.maxBufferedBytes) this.maxBufferedBytes = socket.bufferedAmount;
    }
    if (schedule.done) clearInterval(this.sendTimer);
  }

  private onAck(user: number, frame: ServerFrame): void {
    const now = epochMillis();
    const id = frame.id ?? '';
    const pending = this.pending.get(id);
    if (pending !== undefined && pending.sender === user && typeof frame.seq === 'number') {
      this.pending.delete(id);
      const key = decodeMessageId(id)!;
      this.acks.push([pending.conv, frame.seq, id]);
      this.counters.acked += 1;
      this.tickCounts.acked += 1;
      recordMillis(this.ack, now - key.intendedAt);
      recordMillis(this.tickAck, now - key.intendedAt);
      return;
    }
    const key = decodeMessageId(id);
    if (key !== undefined && key.tag !== this.plan.tag) {
      this.staleFrames += 1;
    } else if (key !== undefined && key.sender === user && key.n < (this.nextN.get(user) ?? 0)) {
      this.duplicateAcks += 1;
      this.example(`second ack for ${id} (seq ${frame.seq})`);
    } else {
      this.unknownFrames += 1;
      this.example(`ack to user ${user} for a message it did not send: ${JSON.stringify(frame).slice(0, 160)}`);
    }
  }

  private onError(user: number, frame: ServerFrame): void {
    const code = frame.code ?? 'unknown';
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    this.example(`error to user ${user}: ${code} ${frame.message ?? ''} (ref ${frame.ref ?? '-'})`);
    const pending = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
    if (pending === undefined || pending.sender !== user) return;
    // No ack and no deliveries will come for a refused send.
    this.pending.delete(frame.ref!);
    this.counters.refused += 1;
    this.counters.expectedDeliveries -= this.plan.recipients[pending.conv]!;
  }

  private onMsg(user: number, frame: ServerFrame): void {
    const now = epochMillis();
    const key = frame.id === undefined ? undefined : decodeMessageId(frame.id);
    const conv = frame.conv === undefined ? undefined : this.convIndex.get(frame.conv);
    if (key !== undefined && key.tag !== this.plan.tag) {
      this.staleFrames += 1;
      return;
    }
    if (key === undefined || conv === undefined || typeof frame.seq !== 'number' || key.sender === user) {
      this.unknownFrames += 1;
      this.example(`msg to user ${user} that this phase did not send to it: ${JSON.stringify(frame).slice(0, 160)}`);
      return;
    }
    let seen = this.lastSeq.get(user);
    if (seen === undefined) this.lastSeq.set(user, (seen = new Map()));
    const previous = seen.get(conv) ?? 0;
    if (frame.seq === previous) {
      this.duplicateDeliveries += 1;
      this.example(`user ${user} got seq ${frame.seq} of conversation ${frame.conv} twice`);
      return;
    }
    if (frame.seq < previous) {
      this.reorderedDeliveries += 1;
      this.example(`user ${user} got seq ${frame.seq} of conversation ${frame.conv} after seq ${previous}`);
    } else {
      seen.set(conv, frame.seq);
    }
    const receivedKey = `${conv}:${key.sender}`;
    this.received.set(receivedKey, (this.received.get(receivedKey) ?? 0) + 1);
    this.counters.delivered += 1;
    this.tickCounts.delivered += 1;
    recordMillis(this.delivery, now - key.intendedAt);
    recordMillis(this.tickDelivery, now - key.intendedAt);
  }

  private flushTick(): void {
    const t = Math.max(1, Math.round((Date.now() - this.plan.startAt) / 1000));
    if (t <= this.lastTick && this.tickCounts.sent + this.tickCounts.acked + this.tickCounts.delivered === 0) return;
    this.lastTick = Math.max(t, this.lastTick + 1);
    this.emitTick({
      t: this.lastTick,
      ...this.tickCounts,
      ackHistogram: encodeHistogram(this.tickAck),
      deliveryHistogram: encodeHistogram(this.tickDelivery),
    });
    this.tickAck = newHistogram();
    this.tickDelivery = newHistogram();
    this.tickCounts = { sent: 0, acked: 0, delivered: 0 };
  }

  private example(line: string): void {
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(line);
  }
}
