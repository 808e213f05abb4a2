/**
 * The shape `direct` and `group` share: a population is set up and connected, a short warm-up at
 * the same rate is sent (checked like everything else, not timed, so the measured window starts
 * on a server past its first compilations), then the measured open-loop window.
 */
import { HEADLINE_KEYS, headline } from '../report/headline-keys.js';
import type { ScenarioName, ScenarioRun } from '../report/types.js';
import { addCorrectness, ConversationBook } from './correctness.js';
import { runLoad } from './load.js';
import { loadNotes } from './run-notes.js';
import { phaseTag, scenarioRun } from './scenario-run.js';
import { openCpuWindow, serverCpuFigures } from './server-cpu.js';
import type { ScenarioContext } from './context.js';
import type { ScenarioSession } from './session.js';
import { TimelineBuilder } from './timeline.js';
import type { SlotPick } from '../gen/protocol.js';

/** Seconds of warm-up before the measured window, unless --warmup says otherwise. */
const WARMUP_SEC = 2;

/** The run's warm-up in seconds: --warmup, else the default. */
export function warmupSec(ctx: ScenarioContext): number {
  return ctx.options.warmup ?? WARMUP_SEC;
}

export interface TimedLoadSpec {
  scenario: ScenarioName;
  rate: number;
  durationSec: number;
  convIds: string[];
  recipients: number[];
  slots: Array<[number, number]>;
  pick: SlotPick;
  params: Record<string, number | string | boolean>;
  notes: string[];
}

export async function runTimedLoad(session: ScenarioSession, spec: TimedLoadSpec): Promise<ScenarioRun> {
  const { ctx } = session;
  const book = new ConversationBook(spec.convIds, spec.recipients);
  const warmupSeconds = warmupSec(ctx);
  ctx.progress(`  warm-up: ${spec.rate} msgs/s for ${warmupSeconds} s (checked, not timed)`);
  const warmup = await runLoad(session, { tag: phaseTag(ctx.prefix, 'w'), rate: spec.rate, durationSec: warmupSeconds, slots: spec.slots, pick: spec.pick, book }, new TimelineBuilder());
  const startAt = Date.now() + 300;
  const cpuWindow = await openCpuWindow(ctx, startAt, startAt + spec.durationSec * 1000);
  const sampler = await session.startSampling(startAt);
  const timeline = new TimelineBuilder();
  ctx.progress(`  measuring: ${spec.rate} msgs/s for ${spec.durationSec} s, open loop`);
  const measured = await runLoad(session, { tag: phaseTag(ctx.prefix, 'm'), rate: spec.rate, durationSec: spec.durationSec, slots: spec.slots, pick: spec.pick, book, startAt }, timeline);
  sampler.stop();
  const cpu = sampler.meanCpu(0, spec.durationSec);
  const serverCpu = await serverCpuFigures(ctx, cpuWindow, { messages: measured.correctness.sent, windowMs: spec.durationSec * 1000 });
  const correctness = addCorrectness([warmup.correctness, measured.correctness]);
  const headlines = [];
  if (measured.ack.totalCount > 0) headlines.push(headline(HEADLINE_KEYS.ackP50, measured.ack.getValueAtPercentile(50) / 1000), headline(HEADLINE_KEYS.ackP99, measured.ack.getValueAtPercentile(99) / 1000));
  if (measured.delivery.totalCount > 0) headlines.push(headline(HEADLINE_KEYS.deliveryP50, measured.delivery.getValueAtPercentile(50) / 1000), headline(HEADLINE_KEYS.deliveryP99, measured.delivery.getValueAtPercentile(99) / 1000));
  headlines.push(...serverCpu.headline);
  return scenarioRun({
    scenario: spec.scenario,
    params: { ...spec.params, rate: spec.rate, duration: spec.durationSec, warmup: warmupSeconds },
    headline: headlines,
    timeline: timeline.build(sampler.samples),
    ack: measured.ack,
    delivery: measured.delivery,
    correctness,
    problems: [...warmup.examples.map((e) => `warm-up: ${e}`), ...measured.examples],
    notes: [...spec.notes, ...loadNotes(measured, cpu, session.generatorCapacityPct()), ...serverCpu.notes],
    processCpu: serverCpu.processCpu,
    wakeupFloor: serverCpu.wakeupFloor,
  });
}
