/**
 * Assembles a ScenarioRun (bench/report/types.ts) from what a scenario measured: latency summaries
 * and the percentile curve from the merged histograms (absent when nothing was recorded, never 0),
 * and the correctness, whose examples become notes a reader sees.
 */
import { percentileCurve, summarize, type Histogram } from '../lib/hdr.js';
import type { Correctness, Headline, ProcessCpu, RampStep, ScenarioName, ScenarioRun, TimelinePoint, WakeupFloor } from '../report/types.js';

export interface ScenarioParts {
  scenario: ScenarioName;
  params: Record<string, number | string | boolean>;
  headline: Headline[];
  timeline: TimelinePoint[];
  ack?: Histogram;
  delivery?: Histogram;
  correctness: Correctness;
  steps?: RampStep[];
  notes?: string[];
  /** What went wrong, shown first among the notes. */
  problems?: string[];
  processCpu?: ProcessCpu;
  wakeupFloor?: WakeupFloor;
}

export function scenarioRun(parts: ScenarioParts): ScenarioRun {
  const ack = parts.ack !== undefined && parts.ack.totalCount > 0 ? parts.ack : undefined;
  const delivery = parts.delivery !== undefined && parts.delivery.totalCount > 0 ? parts.delivery : undefined;
  const notes = [...(parts.problems ?? []).map((p) => `problem: ${p}`), ...(parts.notes ?? [])];
  return {
    scenario: parts.scenario,
    params: parts.params,
    headline: parts.headline,
    timeline: parts.timeline,
    percentiles: percentileCurve(ack, delivery),
    ...(ack === undefined ? {} : { ack: summarize(ack) }),
    ...(delivery === undefined ? {} : { delivery: summarize(delivery) }),
    correctness: parts.correctness,
    ...(parts.steps === undefined ? {} : { steps: parts.steps }),
    ...(notes.length === 0 ? {} : { notes }),
    ...(parts.processCpu === undefined ? {} : { processCpu: parts.processCpu }),
    ...(parts.wakeupFloor === undefined ? {} : { wakeupFloor: parts.wakeupFloor }),
  };
}

/** A tag for message ids: [A-Za-z0-9], unique within the run. */
export function phaseTag(prefix: string, phase: string): string {
  return `${prefix}${phase}`.replace(/[^A-Za-z0-9]/g, '');
}
