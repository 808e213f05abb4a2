/**
 * One colour per target, the same in every chart of a report, taken in the run's target order
 * from a palette that stays distinguishable for colour-blind readers (Okabe and Ito's).
 */
import type { BenchRun } from './types.js';

const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#000000', '#F0E442'];

/** Target key → colour. */
export function targetColours(run: BenchRun): Map<string, string> {
  return new Map(run.targets.map((t, i) => [t.target, COLOURS[i % COLOURS.length]!]));
}
