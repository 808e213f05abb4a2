/**
 * The facts about a run that both reports print in their header (when, what command, which
 * machine and checkout, how it was pinned), as plain strings; each report escapes them its own way.
 */
import { formatBytes, formatNumber } from './format.js';
import type { BenchRun, ScenarioRun } from './types.js';

/** `2026-12-07 10:00:03 UTC`, or the string as the run wrote it when it is not a date. */
export function formatInstant(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "from … to … (25 min 13 s)". */
export function runWhen(run: BenchRun): string {
  const ms = new Date(run.finishedAt).getTime() - new Date(run.startedAt).getTime();
  const took = Number.isFinite(ms) && ms >= 0 ? ` (${formatDuration(ms / 1000)})` : '';
  return `${formatInstant(run.startedAt)} to ${formatInstant(run.finishedAt)}${took}`;
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${formatNumber(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds - minutes * 60);
  return minutes < 60 ? `${minutes} min ${rest} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * The command to run again. BenchRun.command is the argv after `troupe bench`; a run that wrote
 * the whole command line is shown as it is rather than as `troupe bench troupe bench …`.
 */
export function commandLine(run: BenchRun): string {
  const command = run.command.trim();
  return /^(?:troupe|npm|npx)\b/.test(command) ? command : `troupe bench ${command}`.trim();
}

/** "2 cores, AMD EPYC 7B13, 7.8 GiB, Linux 6.1.0, Node v20.11.1". */
export function machineLine(run: BenchRun): string {
  const m = run.machine;
  return `${m.cores} cores, ${m.cpuModel}, ${formatBytes(m.memoryBytes)} memory, ${m.os}, Node ${m.node}`;
}

/** "0.9.0, commit 1a2b3c4" (or "commit unknown"). */
export function troupeLine(run: BenchRun): string {
  return `${run.machine.troupeVersion}, ${run.machine.commit === undefined ? 'commit unknown (not run from a checkout)' : `commit ${run.machine.commit}`}`;
}

/** "server on CPUs 0, load generator on CPUs 1", or "none". */
export function pinningLine(run: BenchRun): string {
  const parts: string[] = [];
  if (run.pinning?.server !== undefined) parts.push(`server on CPUs ${run.pinning.server}`);
  if (run.pinning?.generator !== undefined) parts.push(`load generator on CPUs ${run.pinning.generator}`);
  return parts.length === 0 ? 'none (processes not pinned)' : parts.join(', ');
}

/** "rate 300, pairs 200, duration 30". */
export function paramsLine(params: ScenarioRun['params']): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return 'none recorded';
  return entries.map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : String(v)}`).join(', ');
}

/** The correctness counters that went wrong, e.g. "lost 3, errors 1"; empty when none did. */
export function correctnessProblems(c: ScenarioRun['correctness']): string[] {
  const problems: string[] = [];
  if (c.acked < c.sent) problems.push(`unacked ${formatNumber(c.sent - c.acked)}`);
  if (c.delivered < c.expectedDeliveries) problems.push(`undelivered ${formatNumber(c.expectedDeliveries - c.delivered)}`);
  for (const [name, value] of [
    ['lost', c.lost],
    ['duplicated', c.duplicated],
    ['reordered', c.reordered],
    ['errors', c.errors],
    ['unexpected closes', c.unexpectedCloses],
  ] as const) {
    if (value > 0) problems.push(`${name} ${formatNumber(value)}`);
  }
  if (!c.ok && problems.length === 0) problems.push('marked not ok by the scenario');
  return problems;
}
