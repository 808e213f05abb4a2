/**
 * The text summary printed at the end of a run: per target and scenario the headline figures,
 * the latency summaries, the server's CPU by process kind with the wakeup floor, and the
 * correctness line, then the issue targets the run could judge, so a run read in a terminal says
 * the same as its HTML report, including what went wrong.
 */
import { cpuTable, floorLine, textTable } from '../report/process-cpu.js';
import { targetChecks } from '../report/target-checks.js';
import type { BenchRun, Correctness, Headline, LatencySummary, ScenarioRun } from '../report/types.js';

export function runSummary(run: BenchRun): string {
  const lines: string[] = ['', `Summary (${run.machine.cores} cores, ${run.machine.cpuModel}, Node ${run.machine.node}${pinning(run)}):`];
  for (const target of run.targets) {
    lines.push('', `${target.label} [${target.role}]`);
    for (const scenario of target.scenarios) {
      lines.push(`  ${scenario.scenario}: ${scenario.headline.map(formatHeadline).join(', ') || 'no headline figure'}`);
      if (scenario.ack !== undefined) lines.push(`    ack       ${latency(scenario.ack)}`);
      if (scenario.delivery !== undefined) lines.push(`    ${scenario.scenario === 'sync' ? 'sync page' : 'delivery '} ${latency(scenario.delivery)}`);
      for (const step of scenario.steps ?? []) {
        lines.push(`    step ${String(step.rate).padStart(6)} msgs/s  ${step.held ? 'held       ' : 'did not hold'}  delivery p99 ${step.deliveryP99.toFixed(1)} ms  ` +
          `acked ${step.achievedPerSec.toFixed(0)}/s${step.serverCpuPct === undefined ? '' : `  server CPU ${step.serverCpuPct.toFixed(0)} %`}`);
      }
      lines.push(...serverCpuLines(scenario));
      lines.push(`    ${correctnessLine(scenario.correctness)}`);
      for (const note of scenario.notes ?? []) lines.push(`    ${note}`);
    }
    for (const skip of target.skipped ?? []) lines.push(`  ${skip.scenario}: skipped (${skip.why})`);
  }
  const judged = targetChecks(run).filter((c) => c.outcome !== 'not measured');
  if (judged.length > 0) {
    lines.push('', 'Issue targets this run has the figures for (the reports list every target):');
    for (const c of judged) lines.push(`  ${c.outcome === 'met' ? 'met   ' : 'MISSED'}  ${c.target} (${c.subject}): ${c.detail}`);
  }
  return lines.join('\n');
}

/** The server's CPU by process kind as a table, and the wakeup floor under it. */
export function serverCpuLines(scenario: ScenarioRun): string[] {
  const lines: string[] = [];
  if (scenario.processCpu !== undefined) {
    const table = cpuTable(scenario.processCpu);
    lines.push(`    ${table.caption}:`, ...textTable(table, '      '));
  }
  if (scenario.wakeupFloor !== undefined) lines.push(`    ${floorLine(scenario.wakeupFloor, scenario.processCpu)}`);
  return lines;
}

export function correctnessLine(c: Correctness): string {
  const counts = `sent ${c.sent}, acked ${c.acked}, delivered ${c.delivered}/${c.expectedDeliveries}`;
  if (c.ok) return `correctness ok: ${counts}, nothing lost, duplicated or reordered`;
  return `CORRECTNESS FAILED: ${counts}; lost ${c.lost}, duplicated ${c.duplicated}, reordered ${c.reordered}, errors ${c.errors}, unexpected closes ${c.unexpectedCloses}`;
}

function formatHeadline(h: Headline): string {
  const value = h.unit === 'bytes' ? `${(h.value / 1024).toFixed(2)} KiB`
    : h.unit === 's' ? `${h.value.toFixed(2)} s`
    : h.unit === 'ms' ? `${h.value.toFixed(2)} ms`
    : h.unit === '%' ? `${h.value.toFixed(1)} %`
    : `${Math.round(h.value).toLocaleString('en-US')} ${h.unit}`;
  return `${h.label} ${value}`;
}

function latency(s: LatencySummary): string {
  const ms = (v: number): string => v.toFixed(2);
  return `p50 ${ms(s.p50)}  p90 ${ms(s.p90)}  p99 ${ms(s.p99)}  p99.9 ${ms(s.p999)}  max ${ms(s.max)} ms  (${s.count})`;
}

function pinning(run: BenchRun): string {
  if (run.pinning === undefined) return '; server and generator not pinned, sharing the cores';
  return `; server on CPU ${run.pinning.server ?? 'any'}, generator on CPU ${run.pinning.generator ?? 'any'}`;
}
