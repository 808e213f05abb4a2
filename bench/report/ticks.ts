/**
 * Axis ticks on round numbers (1, 2 or 5 times a power of ten), so a reader can interpolate by
 * eye; the axis domain is widened to the enclosing ticks so no point sits outside the plot.
 */

export interface AxisTicks {
  /** The domain the axis spans: the first and last tick. */
  min: number;
  max: number;
  ticks: number[];
}

/** A round step giving about `target` intervals over `span`. */
function roundStep(span: number, target: number): number {
  const raw = span / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/**
 * Round ticks covering [lo, hi]. An empty or flat range is widened so the axis still has a
 * scale (a flat line at 5 sits inside 0..10 or 4..6, never on a degenerate axis).
 */
export function niceTicks(lo: number, hi: number, target = 5): AxisTicks {
  let min = Number.isFinite(lo) ? lo : 0;
  let max = Number.isFinite(hi) ? hi : 1;
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const pad = max === 0 ? 1 : Math.abs(max) * 0.1;
    min -= min === 0 ? 0 : pad;
    max += pad;
  }
  const step = roundStep(max - min, target);
  const first = Math.floor(min / step + 1e-9) * step;
  const last = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  // Whole multiples of the step, rounded to the step's precision so 0.1 * 3 prints as 0.3.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (let i = 0; first + i * step <= last + step * 1e-9; i += 1) {
    ticks.push(Number((first + i * step).toFixed(decimals)));
  }
  return { min: ticks[0] ?? first, max: ticks[ticks.length - 1] ?? last, ticks };
}
