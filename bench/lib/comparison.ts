/**
 * The embedded server and the cluster side by side (`--target both`): the same offered rates, one
 * row per rate and target, and the ratio of their highest sustained rates. Both ran in the same
 * run on the same cores, one after the other (docs/architecture.md).
 */
import type { LoadPhaseResult } from './load-phase.js';
import type { StepResult } from './load-step.js';
import { percent, verdict } from './report.js';
import { fmt, ms, table } from './text-table.js';

export function comparisonTable(embedded: LoadPhaseResult, cluster: LoadPhaseResult): string {
  const rows = [
    ...embedded.steps.map((s) => ({ target: 'embedded', s })),
    ...cluster.steps.map((s) => ({ target: 'cluster', s })),
  ].sort((a, b) => a.s.offeredPerSec - b.s.offeredPerSec || (a.target === 'embedded' ? -1 : 1));
  const header = ['offered/s', 'target', 'acked/s', 'ack p50', 'ack p99', 'msgs/s', 'gen CPU', 'srv CPU', 'svc CPU', 'other CPU', 'verdict'];
  const cells = rows.map(({ target, s }) => [
    fmt(s.offeredPerSec), target, fmt(s.ackedPerSec), ms(s.ackLatency.p50), ms(s.ackLatency.p99), fmt(s.deliveriesPerSec),
    percent(s.generatorCpuPct), percent(s.serverCpuPct), percent(s.serviceCpuPct), percent(s.otherCpuPct), verdict(s),
  ]);
  return table(header, cells) +
    '\n  ack latencies in ms from the scheduled send time; CPU in % of one core: gen = this load generator; srv = the troupe' +
    '\n  dev process, or every role process of the cluster summed; svc = the cluster\'s MariaDB, Redis, etcd and Kafka mock' +
    '\n  summed; other = anything else busy on the shared cores during the step' +
    `\n  highest sustained: embedded ${sustained(embedded.highestSustained)}, cluster ${sustained(cluster.highestSustained)}` +
    ratio(embedded.highestSustained, cluster.highestSustained);
}

const sustained = (s: StepResult | undefined): string => (s === undefined ? 'none' : `${fmt(s.offeredPerSec)} sends/s`);

function ratio(embedded: StepResult | undefined, cluster: StepResult | undefined): string {
  if (embedded === undefined || cluster === undefined) return '';
  return ` (cluster / embedded ${(cluster.offeredPerSec / embedded.offeredPerSec).toFixed(2)}×)`;
}
