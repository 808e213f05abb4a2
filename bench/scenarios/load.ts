/**
 * One open-loop load phase over the generator workers: the offered rate is split over the workers
 * in proportion to the send slots each owns, every worker starts at the same intended time, and
 * after the window the phase waits (up to --drain) for the last acks and deliveries before the
 * books are closed and checked (bench/scenarios/correctness.ts).
 */
import type { LoadPlan, SlotPick, Tick } from '../gen/protocol.js';
import { mergeEncoded, newHistogram, type Histogram } from '../lib/hdr.js';
import type { Correctness } from '../report/types.js';
import { checkPhase, type ConversationBook } from './correctness.js';
import type { ScenarioSession } from './session.js';
import type { TimelineBuilder } from './timeline.js';

export interface LoadSpec {
  /** [A-Za-z0-9], unique in the run. */
  tag: string;
  rate: number;
  durationSec: number;
  /** [sender user, conversation index]. */
  slots: Array<[number, number]>;
  pick: SlotPick;
  book: ConversationBook;
  /** Longest wait after the window for the last acks and deliveries, seconds; default --drain. */
  drainSec?: number;
  /** Epoch ms of the first intended send; default 300 ms from now, so every worker has the plan in time. */
  startAt?: number;
}

export interface PhaseOutcome {
  startAt: number;
  ack: Histogram;
  delivery: Histogram;
  /** How late the generator handed sends over against the schedule: a busy generator shows here. */
  sendLag: Histogram;
  correctness: Correctness;
  examples: string[];
  drained: boolean;
  drainMs: number;
  /** Acks and deliveries that arrived inside the window, per second of it. */
  ackedPerSec: number;
  deliveredPerSec: number;
  maxBufferedBytes: number;
}

const LEAD_MS = 300;

export async function runLoad(session: ScenarioSession, spec: LoadSpec, timeline: TimelineBuilder, timelineOrigin?: number): Promise<PhaseOutcome> {
  const { pool, ctx } = session;
  const startAt = spec.startAt ?? Date.now() + LEAD_MS;
  const origin = timelineOrigin ?? startAt;
  const offsetSec = Math.round((startAt - origin) / 1000);
  const text = 'x'.repeat(ctx.options.bodyChars);
  const perWorker: Array<Array<[number, number]>> = Array.from({ length: pool.size }, () => []);
  for (const slot of spec.slots) perWorker[pool.workerOf(slot[0])]!.push(slot);
  const plans: LoadPlan[] = perWorker.map((slots) => ({
    tag: spec.tag,
    rate: (spec.rate * slots.length) / spec.slots.length,
    durationSec: spec.durationSec,
    startAt,
    slots,
    pick: spec.pick,
    convIds: [...spec.book.convIds],
    recipients: [...spec.book.recipients],
    text,
  }));
  const windowEnd = startAt + spec.durationSec * 1000;
  let inWindow = { acked: 0, delivered: 0 };
  /** This phase's own counts (a ramp's timeline also holds earlier steps). */
  const own = { sent: 0, acked: 0, delivered: 0, lastT: 0 };
  const progress = setInterval(() => {
    const latest = timeline.latest();
    if (latest === undefined || own.lastT === 0) return;
    const cpu = session.sampler?.samples.at(-1);
    ctx.progress(
      `    ${own.lastT} s  sent ${own.sent}  acked ${own.acked}  delivered ${own.delivered}` +
        `  ack p99 ${latest.ackP99.toFixed(1)} ms  delivery p99 ${latest.deliveryP99.toFixed(1)} ms` +
        (cpu === undefined ? '' : `  CPU server ${cpu.serverCpuPct === undefined ? 'n/a' : `${cpu.serverCpuPct.toFixed(0)} %`} generator ${cpu.generatorCpuPct.toFixed(0)} %`) +
        (cpu?.otherCpuPct === undefined ? '' : ` other ${cpu.otherCpuPct.toFixed(0)} %`),
    );
  }, 1000);
  const onTick = (tick: Tick): void => {
    timeline.addTick(tick, offsetSec);
    own.sent += tick.sent;
    own.acked += tick.acked;
    own.delivered += tick.delivered;
    own.lastT = Math.max(own.lastT, tick.t);
    if (tick.t <= spec.durationSec) {
      inWindow = { acked: inWindow.acked + tick.acked, delivered: inWindow.delivered + tick.delivered };
    }
  };
  let outcome;
  try {
    outcome = await pool.runLoad({ plans, drainTimeoutMs: (spec.drainSec ?? ctx.options.drain) * 1000, onTick });
  } finally {
    clearInterval(progress);
  }
  const check = checkPhase(outcome.results, spec.book);
  const rateLimited = outcome.results.reduce((sum, r) => sum + (r.errors.rate_limited ?? 0), 0);
  if (rateLimited > 0) {
    check.examples.unshift(`${rateLimited} sends refused with rate_limited: the server's per-connection frame limit (gateway.rateLimit) is below the offered rate per sender; raise it on that server or offer less`);
  }
  if (!outcome.drained) check.examples.unshift(`not every ack and delivery came within ${spec.drainSec ?? ctx.options.drain} s after the window`);
  const windowSec = Math.max(1, (windowEnd - startAt) / 1000);
  return {
    startAt,
    ack: mergeEncoded(outcome.results.map((r) => r.ackHistogram)),
    delivery: mergeEncoded(outcome.results.map((r) => r.deliveryHistogram)),
    sendLag: outcome.results.length === 0 ? newHistogram() : mergeEncoded(outcome.results.map((r) => r.sendLagHistogram)),
    correctness: check.correctness,
    examples: check.examples,
    drained: outcome.drained,
    drainMs: outcome.drainMs,
    ackedPerSec: inWindow.acked / windowSec,
    deliveredPerSec: inWindow.delivered / windowSec,
    maxBufferedBytes: Math.max(0, ...outcome.results.map((r) => r.maxBufferedBytes)),
  };
}
