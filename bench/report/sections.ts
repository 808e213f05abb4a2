/**
 * A run's scenarios as the reports show them: one section per scenario, every target that ran it
 * side by side. A target may run a scenario more than once (a group of 1,000 and one of 5,000):
 * the n-th run of a scenario on each target is put beside the n-th run on the others.
 */
import type { BenchRun, ScenarioName, ScenarioRun, TargetRun } from './types.js';

/** One target's run of a section's scenario. */
export interface SectionCase {
  target: TargetRun;
  run: ScenarioRun;
}

export interface ScenarioSection {
  /** Stable and unique in the run, e.g. `direct`, or `group-2` for the second group run. */
  id: string;
  scenario: ScenarioName;
  /** What a heading shows, e.g. "group" or "group (run 2)". */
  title: string;
  cases: SectionCase[];
  /** Targets that did not run the scenario, with their reason when the run gave one. */
  absent: Array<{ target: TargetRun; why: string }>;
}

/** The sections in the order the run first shows each scenario. */
export function scenarioSections(run: BenchRun): ScenarioSection[] {
  const order: Array<{ scenario: ScenarioName; occurrence: number }> = [];
  for (const target of run.targets) {
    const seen = new Map<ScenarioName, number>();
    for (const scenarioRun of target.scenarios) {
      const occurrence = seen.get(scenarioRun.scenario) ?? 0;
      seen.set(scenarioRun.scenario, occurrence + 1);
      if (!order.some((o) => o.scenario === scenarioRun.scenario && o.occurrence === occurrence)) order.push({ scenario: scenarioRun.scenario, occurrence });
    }
  }
  return order.map(({ scenario, occurrence }) => {
    const repeated = order.some((o) => o.scenario === scenario && o.occurrence > 0);
    const cases: SectionCase[] = [];
    const absent: ScenarioSection['absent'] = [];
    for (const target of run.targets) {
      const scenarioRun = target.scenarios.filter((s) => s.scenario === scenario)[occurrence];
      if (scenarioRun !== undefined) {
        cases.push({ target, run: scenarioRun });
        continue;
      }
      const why = target.skipped?.find((s) => s.scenario === scenario)?.why ?? 'not run';
      absent.push({ target, why });
    }
    return {
      id: repeated ? `${scenario}-${occurrence + 1}` : scenario,
      scenario,
      title: repeated ? `${scenario} (run ${occurrence + 1})` : scenario,
      cases,
      absent,
    };
  });
}
