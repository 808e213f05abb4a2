/**
 * How the reports write figures: the same rounding in HTML tables, chart ticks and markdown, so a
 * number read in one place can be found in the other.
 */
import type { Headline } from './types.js';

/** About three significant figures, with thousands separators (12,345; 391; 23.1; 0.84). */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs === 0 || abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** Bytes in the unit a reader expects: B below 10 KiB (per-socket figures), then KiB, MiB, GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= (unit === 0 ? 10 * 1024 : 1024) && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value)} ${units[unit]}`;
}

/** A headline figure with its unit, e.g. "23.1 ms", "1,843 B", "12,000 msgs/s". */
export function formatHeadline(value: number, unit: Headline['unit']): string {
  if (unit === 'bytes') return formatBytes(value);
  if (unit === '%') return `${formatNumber(value)}%`;
  return `${formatNumber(value)} ${unit}`;
}

/** A ratio as a factor, e.g. "3.42×"; small ones keep more digits so 0.04× does not read as 0. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a';
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

/** A signed percentage, e.g. "+20.0%", "-7.5%". */
export function formatSignedPct(pct: number): string {
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** What a report shows for a figure the run does not have: never 0, never blank. */
export const NOT_MEASURED = 'not measured';
