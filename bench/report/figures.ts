/**
 * The headline figures of a section side by side, and the ratios that compare Troupe with the
 * others. A ratio is oriented so that above 1 always means Troupe did better: subject / other
 * for a figure where higher is better (a rate), other / subject where lower is better (a
 * latency, a memory cost). One rule for every row, so a reader never has to work out which way
 * a number points.
 */
import type { ScenarioSection, SectionCase } from './sections.js';
import type { Headline, TargetRole } from './types.js';

/** One headline figure across the section's targets. */
export interface FigureRow {
  key: string;
  label: string;
  unit: Headline['unit'];
  better: Headline['better'];
  /** One per section case, in the same order; undefined where that target did not measure it. */
  values: Array<number | undefined>;
}

/** A Troupe target compared with a peer or a bound in the same section. */
export interface RatioPair {
  subject: SectionCase;
  other: SectionCase;
  role: Exclude<TargetRole, 'subject'>;
}

/** Every headline key any target reported, in the order they first appear. */
export function figureRows(section: ScenarioSection): FigureRow[] {
  const rows: FigureRow[] = [];
  for (const c of section.cases) {
    for (const h of c.run.headline) {
      if (rows.some((r) => r.key === h.key)) continue;
      rows.push({
        key: h.key,
        label: h.label,
        unit: h.unit,
        better: h.better,
        values: section.cases.map((other) => other.run.headline.find((x) => x.key === h.key)?.value),
      });
    }
  }
  return rows;
}

/** Each subject against each peer, then each bound. */
export function ratioPairs(section: ScenarioSection): RatioPair[] {
  const subjects = section.cases.filter((c) => c.target.role === 'subject');
  const pairs: RatioPair[] = [];
  for (const role of ['peer', 'bound'] as const) {
    for (const other of section.cases.filter((c) => c.target.role === role)) {
      for (const subject of subjects) pairs.push({ subject, other, role });
    }
  }
  return pairs;
}

/** Above 1 means the subject did better; undefined when either figure is missing or the ratio has no meaning (a zero denominator). */
export function orientedRatio(subject: number | undefined, other: number | undefined, better: Headline['better']): number | undefined {
  if (subject === undefined || other === undefined) return undefined;
  const [top, bottom] = better === 'higher' ? [subject, other] : [other, subject];
  if (bottom === 0 || !Number.isFinite(top) || !Number.isFinite(bottom)) return undefined;
  return top / bottom;
}

/** The ratio of a row for a pair. */
export function pairRatio(section: ScenarioSection, row: FigureRow, pair: RatioPair): number | undefined {
  const subjectValue = row.values[section.cases.indexOf(pair.subject)];
  const otherValue = row.values[section.cases.indexOf(pair.other)];
  return orientedRatio(subjectValue, otherValue, row.better);
}
