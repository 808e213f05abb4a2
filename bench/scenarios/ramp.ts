/**
 * `ramp`: the `direct` load at rising rates. From --rate (default 500) the rate doubles until a
 * step does not hold, then the gap between the highest step that held and the lowest that did not
 * is bisected. A step holds when its delivery p99 stays under --p99-bound (default 50 ms), at
 * least 90 % of the offered rate was acked inside the window, everything drained and every check
 * passed. Headline: the highest rate that held (`max_rate_p99_under_50ms`).
 *
 * A step that did not drain, or broke a check, ends the ramp: its backlog would be measured by the
 * next step.
 */
import { createPairs } from '../lib/population.js';
import { HEADLINE_KEYS, HEADLINE_SPECS } from '../report/headline-keys.js';
import type { Correctness, Headline, RampStep, ScenarioRun } from '../report/types.js';
import type { ScenarioContext } from './context.js';
import { addCorrectness, ConversationBook } from './correctness.js';
import { runLoad, type PhaseOutcome } from './load.js';
import { phaseTag, scenarioRun } from './scenario-run.js';
import { ScenarioSession } from './session.js';
import { generatorWarning, otherLoadWarning } from './run-notes.js';
import { warmupSec } from './timed-load.js';
import { TimelineBuilder } from './timeline.js';

export const RAMP_DEFAULT_START_RATE = 500;
export const RAMP_DEFAULT_STEP_SEC = 5;
/** A step must ack at least this share of its offered rate inside its window. */
const MIN_ACHIEVED_SHARE = 0.9;
/** Bisection stops when the gap is below this share of the rate that held, or after this many steps. */
const BISECT_PRECISION = 0.05;
const MAX_BISECTIONS = 4;
/** When even the first step fails, the rate is halved at most this often. */
const MAX_HALVINGS = 4;

interface StepOutcome {
  step: RampStep;
  phase: PhaseOutcome;
  /** The step failed a check or did not drain: nothing after it would be clean. */
  fatal: boolean;
}

export async function runRamp(ctx: ScenarioContext): Promise<ScenarioRun> {
  const { pairs, p99Bound, maxRate } = ctx.options;
  const stepSec = ctx.options.duration ?? RAMP_DEFAULT_STEP_SEC;
  const session = await ScenarioSession.open(ctx, 2 * pairs);
  try {
    const users = await session.register();
    const convIds = await createPairs(session.apiFor, users);
    await session.connectAll(users);
    const book = new ConversationBook(convIds, convIds.map(() => 1));
    const slots = users.map((_, u): [number, number] => [u, Math.floor(u / 2)]);
    const first = ctx.options.rate ?? RAMP_DEFAULT_START_RATE;
    const warmupSeconds = warmupSec(ctx);
    ctx.progress(`  warm-up: ${first} msgs/s for ${warmupSeconds} s (checked, not timed)`);
    const warmup = await runLoad(session, { tag: phaseTag(ctx.prefix, 'w'), rate: first, durationSec: warmupSeconds, slots, pick: 'round-robin', book }, new TimelineBuilder());

    const origin = Date.now() + 300;
    const sampler = await session.startSampling(origin);
    const timeline = new TimelineBuilder();
    const outcomes: StepOutcome[] = [];
    const problems: string[] = [...warmup.examples.map((e) => `warm-up: ${e}`)];
    /** Rates that did not hold while the generator was near its CPU limit. */
    const generatorBound: number[] = [];
    /** Rates whose window other processes on the machine shared. */
    const sharedSteps: number[] = [];
    const runStep = async (rate: number): Promise<StepOutcome> => {
      const n = outcomes.length + 1;
      ctx.progress(`  step ${n}: ${rate} msgs/s for ${stepSec} s`);
      const stepStart = Math.max(Date.now() + 300, origin);
      const phase = await runLoad(session, { tag: phaseTag(ctx.prefix, `s${n}`), rate, durationSec: stepSec, slots, pick: 'round-robin', book, startAt: stepStart }, timeline, origin);
      const fromT = (stepStart - origin) / 1000;
      const cpu = sampler.meanCpu(fromT, fromT + stepSec);
      const deliveryP99 = phase.delivery.totalCount > 0 ? phase.delivery.getValueAtPercentile(99) / 1000 : Number.POSITIVE_INFINITY;
      const fatal = !phase.drained || !phase.correctness.ok;
      const held = !fatal && deliveryP99 < p99Bound && phase.ackedPerSec >= MIN_ACHIEVED_SHARE * rate;
      const step: RampStep = {
        rate,
        held,
        ackP99: phase.ack.totalCount > 0 ? phase.ack.getValueAtPercentile(99) / 1000 : 0,
        deliveryP99: Number.isFinite(deliveryP99) ? deliveryP99 : 0,
        achievedPerSec: phase.ackedPerSec,
        ...(cpu.server === undefined ? {} : { serverCpuPct: cpu.server }),
      };
      ctx.progress(`  step ${n}: ${held ? 'held' : 'did not hold'}: delivery p99 ${step.deliveryP99.toFixed(1)} ms, ack p99 ${step.ackP99.toFixed(1)} ms, ` +
        `${phase.ackedPerSec.toFixed(0)} acks/s, CPU server ${cpu.server === undefined ? 'n/a' : `${cpu.server.toFixed(0)} %`}, generator ${cpu.generator?.toFixed(0) ?? 'n/a'} %` +
        `${cpu.other === undefined ? '' : `, other processes ${cpu.other.toFixed(0)} %`}`);
      const busy = generatorWarning(cpu.generator, session.generatorCapacityPct());
      if (otherLoadWarning(cpu.other).length > 0) sharedSteps.push(rate);
      if (!held && busy.length > 0) generatorBound.push(rate);
      if (fatal) problems.push(`step ${n} at ${rate} msgs/s: ${phase.examples[0] ?? 'not drained'}; the ramp stops there`);
      const outcome = { step, phase, fatal };
      outcomes.push(outcome);
      return outcome;
    };

    const heldRates = (): number[] => outcomes.filter((o) => o.step.held).map((o) => o.step.rate);
    const failedRates = (): number[] => outcomes.filter((o) => !o.step.held).map((o) => o.step.rate);
    let last: StepOutcome | undefined;
    for (let rate = first; rate <= maxRate; rate *= 2) {
      last = await runStep(roundRate(rate));
      if (!last.step.held) break;
    }
    for (let h = 0; h < MAX_HALVINGS && heldRates().length === 0 && last !== undefined && !last.fatal; h++) {
      last = await runStep(roundRate(last.step.rate / 2));
    }
    for (let b = 0; b < MAX_BISECTIONS && last !== undefined && !last.fatal; b++) {
      const high = Math.max(0, ...heldRates());
      const low = Math.min(...failedRates());
      if (high === 0 || !Number.isFinite(low) || low - high <= BISECT_PRECISION * high) break;
      const mid = roundRate((high + low) / 2);
      if (mid <= high || mid >= low) break;
      last = await runStep(mid);
    }
    sampler.stop();

    const best = outcomes.filter((o) => o.step.held).sort((a, b) => b.step.rate - a.step.rate)[0];
    const headlines: Headline[] = [];
    if (best !== undefined) headlines.push(maxRateHeadline(p99Bound, best.step.rate));
    const correctness: Correctness = addCorrectness([warmup.correctness, ...outcomes.map((o) => o.phase.correctness)]);
    const notes = [
      `${pairs} direct pairs; a step holds while delivery p99 < ${p99Bound} ms, ≥ ${MIN_ACHIEVED_SHARE * 100} % of the offered rate is acked in its window, and everything drains and checks out`,
      best === undefined
        ? `no step held (from ${first} msgs/s down to ${outcomes.at(-1)?.step.rate ?? first})`
        : `ack and delivery latency and the percentile curve are those of the highest step that held (${best.step.rate} msgs/s)`,
    ];
    if (sharedSteps.length > 0) notes.push(`other processes used over a quarter of a core during the steps at ${sharedSteps.join(', ')} msgs/s: the cores were shared`);
    if (generatorBound.length > 0) {
      notes.push(`the generator was near its CPU limit at ${generatorBound.join(', ')} msgs/s, steps that did not hold: the highest rate may be the generator's limit, not the server's`);
    }
    if (best !== undefined && best.step.rate >= maxRate / 2 && failedRates().length === 0) notes.push(`every step up to --max-rate ${maxRate} held: the limit is above it`);
    return scenarioRun({
      scenario: 'ramp',
      params: { pairs, p99Bound, stepDuration: stepSec, firstRate: first, maxRate },
      headline: headlines,
      timeline: timeline.build(sampler.samples),
      ...(best === undefined ? {} : { ack: best.phase.ack, delivery: best.phase.delivery }),
      correctness,
      steps: outcomes.map((o) => o.step),
      problems,
      notes,
    });
  } finally {
    await session.close();
  }
}

/** `max_rate_p99_under_<bound>ms`: the standard key and label at the default 50 ms, the same shape at another bound. */
function maxRateHeadline(boundMs: number, rate: number): Headline {
  if (boundMs === 50) return { key: HEADLINE_KEYS.maxRateP99Under50ms, value: rate, ...HEADLINE_SPECS[HEADLINE_KEYS.maxRateP99Under50ms] };
  return { key: `max_rate_p99_under_${boundMs}ms`, label: `highest rate with p99 delivery < ${boundMs} ms`, value: rate, unit: 'msgs/s', better: 'higher' };
}

/** A rate rounded to 2 significant digits (1,500 rather than 1,537), for a readable table. */
export function roundRate(rate: number): number {
  if (rate < 10) return Math.max(1, Math.round(rate));
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(rate)) - 1);
  return Math.round(rate / unit) * unit;
}
