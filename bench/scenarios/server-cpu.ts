/**
 * What `direct`, `group` and `idle` add to a window: the server's CPU by kind of process
 * (bench/lib/process-cpu.ts), the headline figures made of it, and the machine's wakeup floor
 * (bench/lib/wakeup-floor.ts) measured right after the window, while the target is still up and
 * idle, so the floor is that of the same machine in the same state.
 */
import { CPU_ROW_KEYS, cpuRow, ProcessCpuWindow } from '../lib/process-cpu.js';
import { measureWakeupFloor } from '../lib/wakeup-floor.js';
import { HEADLINE_KEYS, headline } from '../report/headline-keys.js';
import type { Headline, ProcessCpu, WakeupFloor } from '../report/types.js';
import type { ScenarioContext } from './context.js';

export interface ServerCpuFigures {
  processCpu?: ProcessCpu;
  wakeupFloor?: WakeupFloor;
  headline: Headline[];
  notes: string[];
}

/** A window over the target's server processes from `startAt` to `endAt` (epoch ms); undefined when none can be read (--url). */
export async function openCpuWindow(ctx: ScenarioContext, startAt: number, endAt: number): Promise<ProcessCpuWindow | undefined> {
  const window = await ProcessCpuWindow.of(ctx.target.serverPids());
  window?.startAt(startAt);
  window?.endAt(endAt);
  return window;
}

/**
 * The window's rows (per message when `sent` says how many were sent over how long, else as idle), its headline
 * figures, then the wakeup floor. A floor that cannot be measured leaves a note, not a failure.
 */
export async function serverCpuFigures(ctx: ScenarioContext, window: ProcessCpuWindow | undefined, sent?: { messages: number; windowMs: number }): Promise<ServerCpuFigures> {
  if (window === undefined) return { headline: [], notes: ['server CPU by process kind: not measured (the server\'s processes are not on this machine, or not given with --server-pid)'] };
  const processCpu = await window.result(sent?.messages, sent?.windowMs);
  const headlines: Headline[] = [];
  const roles = cpuRow(processCpu, CPU_ROW_KEYS.roles);
  const server = cpuRow(processCpu, CPU_ROW_KEYS.server);
  if (sent === undefined) {
    if (roles !== undefined) headlines.push(headline(HEADLINE_KEYS.rolesIdleCpu, roles.cpuPct));
    if (server !== undefined) headlines.push(headline(HEADLINE_KEYS.serverIdleCpu, server.cpuPct));
  } else {
    if (roles?.msPerMessage !== undefined) headlines.push(headline(HEADLINE_KEYS.rolesCpuPerMessage, roles.msPerMessage));
    if (server?.msPerMessage !== undefined) headlines.push(headline(HEADLINE_KEYS.serverCpuPerMessage, server.msPerMessage));
  }
  ctx.progress('  measuring the machine\'s wakeup floor (TCP ping-pong between two processes, about 4 s)');
  try {
    const wakeupFloor = await measureWakeupFloor(ctx.options.pinServer === undefined ? {} : { pinCpus: ctx.options.pinServer });
    return { processCpu, wakeupFloor, headline: headlines, notes: [] };
  } catch (err) {
    return { processCpu, headline: headlines, notes: [`wakeup floor: not measured (${(err as Error).message})`] };
  }
}
