/**
 * A sender that behaves like a careful client during faults: one message in flight per
 * conversation, re-sent with the same id when no ack comes in time or when the server answers
 * `unavailable`; and the history checker that proves what the protocol guarantees afterwards.
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Json, WsClient } from '../support/client.js';

export interface SentMessage {
  id: string;
  seq: number;
  conv: string;
}

/** Sends `count` messages to `conv` one after another; resolves with their acks in order. */
export async function sendThroughFaults(client: WsClient, conv: string, count: number, prefix: string, deadlineMs = 90_000): Promise<SentMessage[]> {
  const acks: SentMessage[] = [];
  const giveUpAt = Date.now() + deadlineMs;
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    for (;;) {
      if (Date.now() > giveUpAt) throw new Error(`no ack for ${id} within ${deadlineMs} ms`);
      client.send({ type: 'send', id, conv, body: { text: `${prefix} ${i}` } });
      let answer: Json;
      try {
        answer = await client.next((f) => (f?.type === 'ack' && f.id === id) || (f?.type === 'error' && f.ref === id), 3000);
      } catch {
        continue; // no answer in time: re-send the same id (idempotent)
      }
      if (answer.type === 'ack') {
        acks.push({ id, seq: answer.seq as number, conv });
        break;
      }
      if (answer.code !== 'unavailable' && answer.code !== 'rate_limited') throw new Error(`${id} refused: ${JSON.stringify(answer)}`);
      await sleep(200);
    }
  }
  return acks;
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
