/**
 * The x axis of a percentile curve, spaced like an HDR histogram plot: position log10(1/(1-p)),
 * so 90%, 99%, 99.9% and 99.99% are equally far apart and the tail, where the targets differ,
 * gets most of the width. 100% (the maximum) would be infinitely far: it is drawn one step past
 * the last tick and labelled "max".
 */

/** The labelled ticks, as percentiles. */
const TICK_PERCENTILES = [50, 90, 99, 99.9, 99.99];
/** Where 100% is drawn, in decades past the furthest finite point or tick. */
const MAX_OFFSET = 0.6;

/** log10(1/(1-p)) for a percentile below 100. */
function decades(percentile: number): number {
  return Math.log10(100 / (100 - percentile));
}

export interface PercentileAxis {
  /** The x position of a percentile (100 included). */
  at: (percentile: number) => number;
  ticks: Array<{ value: number; label: string }>;
}

/** The axis for the given percentiles: ticks 50%…99.99% (plus 0% and max when the data has them). */
export function percentileAxis(percentiles: number[]): PercentileAxis {
  const finite = percentiles.filter((p) => p >= 0 && p < 100);
  const furthest = Math.max(decades(TICK_PERCENTILES[TICK_PERCENTILES.length - 1]!), ...finite.map(decades));
  const maxAt = furthest + MAX_OFFSET;
  const at = (p: number): number => (p >= 100 ? maxAt : decades(Math.max(0, p)));
  const ticks = TICK_PERCENTILES.map((p) => ({ value: at(p), label: `${p}%` }));
  if (finite.some((p) => p < 50)) ticks.unshift({ value: 0, label: '0%' });
  if (percentiles.some((p) => p >= 100)) ticks.push({ value: maxAt, label: 'max' });
  return { at, ticks };
}
