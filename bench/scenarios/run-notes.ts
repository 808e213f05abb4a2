/**
 * The notes that let a reader judge a figure on a shared machine: what was achieved, how late the
 * generator sent, both sides' CPU and the rest of the machine's, and a warning when the generator
 * or someone else's work may be what a figure measures.
 */
import type { MeanCpu } from '../lib/resource-sampler.js';
import type { PhaseOutcome } from './load.js';

/** What a reader needs to judge a window: achieved rates, the generator's lag and both sides' CPU. */
export function loadNotes(phase: PhaseOutcome, cpu: MeanCpu, generatorCapacityPct: number): string[] {
  const lagP99 = phase.sendLag.totalCount > 0 ? phase.sendLag.getValueAtPercentile(99) / 1000 : 0;
  return [
    ...generatorWarning(cpu.generator, generatorCapacityPct),
    `achieved in the window: ${phase.ackedPerSec.toFixed(0)} acks/s, ${phase.deliveredPerSec.toFixed(0)} deliveries/s; drained ${phase.drained ? `${(phase.drainMs / 1000).toFixed(1)} s after it` : 'NOT within --drain'}`,
    `generator send lag p99 ${lagP99.toFixed(1)} ms (late sends count in the latency: open loop)`,
    `mean CPU over the window: server ${cpu.server === undefined ? 'not readable (--url)' : `${cpu.server.toFixed(0)} %`}, generator ${cpu.generator === undefined ? 'n/a' : `${cpu.generator.toFixed(0)} %`}` +
      `${cpu.other === undefined ? '' : `, other processes on the machine ${cpu.other.toFixed(0)} %`} of one core`,
    ...otherLoadWarning(cpu.other),
  ];
}

/** CPU of other processes (percent of one core) above which a reader is warned that the cores were shared. */
const OTHER_BUSY_PCT = 25;

/** A warning when others used the cores; `consequence` says what that does to the window's figures. */
export function otherLoadWarning(otherCpuPct: number | undefined, consequence = 'so these figures are lower than the machine can do'): string[] {
  if (otherCpuPct === undefined || otherCpuPct < OTHER_BUSY_PCT) return [];
  return [`other processes used ${otherCpuPct.toFixed(0)} % of a core during the window: the cores were shared, ${consequence}`];
}

/** Share of its CPU above which the generator, not the server, may be what a figure measures. */
const GENERATOR_BUSY_SHARE = 0.85;

/** A warning when the generator ran near the CPU it has: the figure may be the generator's limit. */
export function generatorWarning(generatorCpuPct: number | undefined, capacityPct: number): string[] {
  if (generatorCpuPct === undefined || generatorCpuPct < GENERATOR_BUSY_SHARE * capacityPct) return [];
  return [`the generator used ${generatorCpuPct.toFixed(0)} % of the ${capacityPct} % of CPU it has: these figures may be the generator's limit, not the server's (more --workers, or a larger machine)`];
}
