/**
 * A sender that behaves like a careful client during faults: one message in flight per
 * conversation, re-sent with the same id when no ack comes in time or when the server answers
 * `unavailable`; each ack recorded with when it arrived. And what the fault specs compute from
 * the senders' results and the stored history afterwards: the figures of one fault (sent, acked,
 * lost, duplicated, reordered, longest pause in acks) and the history checks.
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Json, WsClient } from '../support/client.js';

export interface SentMessage {
  id: string;
  seq: number;
  conv: string;
  /** Date.now() when it was first sent. */
  sentAt: number;
  /** Date.now() when its ack arrived. */
  ackedAt: number;
  /** The ack's `ts`: when the message was written (the writing logic node's clock). */
  ts: number;
  /** How many times it was sent (1 + re-sends). */
  attempts: number;
}

export interface SenderRun {
  conv: string;
  /** Client ids sent, in sending order (the last one may be unacked if the run failed). */
  sent: string[];
  /** Acks in sending order. */
  acks: SentMessage[];
}

export interface SendOptions {
  /** Checked before each new message (with the acks so far): true ends the run. */
  until: (acks: readonly SentMessage[]) => boolean;
  /** No ack for a message within this long fails the run. Default 90 s. */
  deadlineMs?: number;
  /** How long to wait for an answer before sending the same id again. Default 3 s. */
  resendAfterMs?: number;
  /** Called with each ack as it arrives. */
  onAck?: (ack: SentMessage) => void;
}

/** Sends messages to `conv` one after another until `options.until` says so; resolves with the run. */
export async function sendThroughFaults(client: WsClient, conv: string, prefix: string, options: SendOptions): Promise<SenderRun> {
  const run: SenderRun = { conv, sent: [], acks: [] };
  const deadlineMs = options.deadlineMs ?? 90_000;
  for (let i = 0; !options.until(run.acks); i++) {
    const id = `${prefix}-${i}`;
    run.sent.push(id);
    const sentAt = Date.now();
    const giveUpAt = sentAt + deadlineMs;
    for (let attempts = 1; ; attempts++) {
      if (Date.now() > giveUpAt) throw new Error(`no ack for ${id} within ${deadlineMs} ms`);
      client.send({ type: 'send', id, conv, body: { text: `${prefix} ${i}` } });
      let answer: Json;
      try {
        answer = await client.next((f) => (f?.type === 'ack' && f.id === id) || (f?.type === 'error' && f.ref === id), options.resendAfterMs ?? 3000);
      } catch (err) {
        if (!client.isOpen) throw err;
        continue; // no answer in time: re-send the same id (idempotent)
      }
      if (answer.type === 'ack') {
        const ack: SentMessage = { id, seq: answer.seq as number, conv, sentAt, ackedAt: Date.now(), ts: answer.ts as number, attempts };
        run.acks.push(ack);
        options.onAck?.(ack);
        break;
      }
      if (answer.code !== 'unavailable' && answer.code !== 'rate_limited') throw new Error(`${id} refused: ${JSON.stringify(answer)}`);
      await sleep(200); // a client's back-off before sending again
    }
  }
  return run;
}

/** The figures of one fault, one line in the spec's output. */
export interface FaultFigures {
  /** Distinct messages sent. */
  sent: number;
  acked: number;
  /** Acked but not stored, or stored with another seq than acked. */
  lost: number;
  /** Stored rows beyond the first of a (sender, client id), plus seqs stored more than once. */
  duplicated: number;
  /** Consecutive messages of one sender to one conversation stored out of sending order. */
  reordered: number;
  /** Seqs missing from 1..N. */
  gaps: number;
  /** Longest time without any ack, over every sender, from the fault's start to the last ack. */
  longestPauseMs: number;
}

/**
 * Computes the figures from every sender's run and each conversation's stored history (by
 * conversation id); `faultAt` is when the fault struck.
 */
export function faultFigures(runs: readonly SenderRun[], histories: ReadonlyMap<string, Json[]>, faultAt: number): FaultFigures {
  const figures: FaultFigures = { sent: 0, acked: 0, lost: 0, duplicated: 0, reordered: 0, gaps: 0, longestPauseMs: 0 };
  const stored = new Map<string, Map<string, number>>(); // conv → client id → seq
  for (const [conv, history] of histories) {
    const byId = new Map<string, number>();
    const seqs = new Set<number>();
    for (const m of history) {
      if (seqs.has(m.seq as number)) figures.duplicated++;
      seqs.add(m.seq as number);
      const key = `${m.from}/${m.id}`;
      if (byId.has(key)) figures.duplicated++;
      else byId.set(key, m.seq as number);
    }
    for (let seq = 1; seq <= Math.max(0, ...seqs); seq++) if (!seqs.has(seq)) figures.gaps++;
    // Client ids are unique per run here (prefixes differ), so the id alone finds a message.
    stored.set(conv, new Map([...byId].map(([key, seq]) => [key.slice(key.indexOf('/') + 1), seq])));
  }
  const ackTimes: number[] = [];
  for (const run of runs) {
    figures.sent += run.sent.length;
    figures.acked += run.acks.length;
    const seqOf = stored.get(run.conv) ?? new Map<string, number>();
    for (const ack of run.acks) {
      if (seqOf.get(ack.id) !== ack.seq) figures.lost++;
      if (ack.ackedAt >= faultAt) ackTimes.push(ack.ackedAt);
    }
    const storedInSendingOrder = run.sent.map((id) => seqOf.get(id)).filter((seq): seq is number => seq !== undefined);
    for (let i = 1; i < storedInSendingOrder.length; i++) if (storedInSendingOrder[i]! <= storedInSendingOrder[i - 1]!) figures.reordered++;
  }
  ackTimes.sort((a, b) => a - b);
  let previous = faultAt;
  for (const at of ackTimes) {
    figures.longestPauseMs = Math.max(figures.longestPauseMs, at - previous);
    previous = at;
  }
  return figures;
}

/** The line a fault prints. */
export function describeFigures(label: string, f: FaultFigures, extra = ''): string {
  return `${label}: sent ${f.sent}, acked ${f.acked}, lost ${f.lost}, duplicated ${f.duplicated}, reordered ${f.reordered}, longest pause in acks ${f.longestPauseMs} ms${extra}`;
}

/**
 * The guarantees after a fault, for one conversation: seqs 1..N without gap or duplicate, at
 * most one stored message per (sender, client id), every acked message stored with its acked
 * seq, and each sender's messages in the order it sent them. `ackedBySender` holds each
 * sender's acks in sending order.
 */
export function checkHistory(history: Json[], ackedBySender: SentMessage[][]): void {
  const seqs = history.map((m) => m.seq as number);
  expect(seqs, 'seqs gap-free from 1').to.deep.equal(Array.from({ length: history.length }, (_, i) => i + 1));
  const byKey = new Map<string, Json>();
  for (const m of history) {
    const key = `${m.from}/${m.id}`;
    expect(byKey.has(key), `client id ${m.id} stored once`).to.equal(false);
    byKey.set(key, m);
  }
  const storedSeq = new Map(history.map((m) => [m.id as string, m.seq as number]));
  for (const acked of ackedBySender) {
    for (const ack of acked) expect(storedSeq.get(ack.id), `acked ${ack.id} stored with seq ${ack.seq}`).to.equal(ack.seq);
    for (let i = 1; i < acked.length; i++) expect(acked[i]!.seq, "a sender's messages stay in sending order").to.be.greaterThan(acked[i - 1]!.seq);
  }
}
