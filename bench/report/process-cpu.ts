/**
 * The server's CPU by kind of process and the machine's wakeup floor, as the reports show them:
 * one table (kind, processes, percent of one core, ms of CPU per message) and one sentence that
 * puts the floor beside the figures, so a reader can compare "requests per message × floor" with
 * the CPU a message measurably cost. Plain strings here; the text summary, the markdown and the
 * HTML each lay them out and escape them their own way.
 */
import { formatNumber } from './format.js';
import type { ProcessCpu, ProcessCpuRow, ScenarioRun, WakeupFloor } from './types.js';

export interface CpuTable {
  /** What the table is: its window and the messages per-message figures divide by. */
  caption: string;
  head: string[];
  rows: string[][];
  /** Rows that sum others (printed in bold or set apart). */
  sums: boolean[];
}

const SUM_KEYS = new Set(['roles', 'services', 'server']);

/** The table of a window; the per-message column only when messages were sent in it. */
export function cpuTable(cpu: ProcessCpu): CpuTable {
  const perMessage = cpu.messages !== undefined;
  const head = ['process kind', 'processes', '% of one core', ...(perMessage ? ['ms of CPU per message'] : [])];
  const cells = (r: ProcessCpuRow): string[] => [
    r.label,
    String(r.processes),
    formatNumber(r.cpuPct),
    ...(perMessage ? [r.msPerMessage === undefined ? '' : formatNumber(r.msPerMessage)] : []),
  ];
  const window = `${formatNumber(cpu.windowSec)} s`;
  return {
    caption: perMessage
      ? `server CPU by process kind over the ${window} measured window, ${formatNumber(cpu.messages!)} messages sent in it (from /proc/<pid>/stat at its start and end)`
      : `server CPU by process kind over ${window} with no load (from /proc/<pid>/stat at its start and end)`,
    head,
    rows: cpu.rows.map(cells),
    sums: cpu.rows.map((r) => SUM_KEYS.has(r.key)),
  };
}

/** µs with about three significant figures. */
function micros(us: number): string {
  return `${formatNumber(us)} µs`;
}

/**
 * The floor in one sentence, and where the window had messages, the Troupe processes' CPU per
 * message counted in gapped round trips: how many sleeping-process wakeups' worth a message costs.
 */
export function floorLine(floor: WakeupFloor, cpu?: ProcessCpu): string {
  const base =
    `wakeup floor of this machine (measured right after the window): two Node processes doing TCP ping-pong over loopback cost ` +
    `${micros(floor.gappedUsPerRoundTrip)} of CPU per round trip together with ${formatNumber(floor.gapMs)} ms between round trips (both sleep; ${formatNumber(floor.gappedRoundTrips)} round trips), ` +
    `${micros(floor.backToBackUsPerRoundTrip)} back to back (${formatNumber(floor.backToBackRoundTrips)})`;
  const roles = cpu?.rows.find((r) => r.key === 'roles');
  if (roles?.msPerMessage === undefined || !(floor.gappedUsPerRoundTrip > 0)) return base;
  const floors = (roles.msPerMessage * 1000) / floor.gappedUsPerRoundTrip;
  return `${base}; the Troupe processes' ${formatNumber(roles.msPerMessage)} ms per message is the CPU of ${formatNumber(floors)} gapped round trips`;
}

/** Whether a scenario run has anything of this module to show. */
export function hasServerCpu(run: ScenarioRun): boolean {
  return run.processCpu !== undefined || run.wakeupFloor !== undefined;
}

/** A table as aligned text lines (first column left, the others right), indented by `indent`. */
export function textTable(table: CpuTable, indent: string): string[] {
  const all = [table.head, ...table.rows];
  const widths = table.head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => indent + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ').trimEnd();
  return [line(table.head), ...table.rows.map(line)];
}
