/**
 * Resource figures of other processes, read from Linux's /proc: resident memory (what the
 * memory-per-connection figure is made of), CPU time (so a reader can see which side of the
 * benchmark ran out of cores, and whether something else was using them), and a process's
 * children (a cluster's services). Linux only, like the machines this benchmark runs on.
 */
import { readdir, readFile } from 'node:fs/promises';
import { TroupeError } from '../../transport/errors.js';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux x86/arm build in use. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size of `pid` in KiB (VmRSS of /proc/<pid>/status). */
export async function readRssKiB(pid: number): Promise<number> {
  const status = await readProc(pid, 'status');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new TroupeError('internal', `no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]);
}

/** User plus system CPU time of `pid` so far, in milliseconds (/proc/<pid>/stat utime + stime). */
export async function readCpuMillis(pid: number): Promise<number> {
  const stat = await readProc(pid, 'stat');
  // The command name (field 2) may hold spaces and parentheses; the fields after its closing one are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new TroupeError('internal', `unreadable /proc/${pid}/stat`);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU time the whole machine has spent busy so far, over every core, in milliseconds (the first
 * line of /proc/stat: everything but idle and iowait). Less the benchmark's own processes, it shows
 * what else ran on the shared cores during a step.
 */
export async function readMachineBusyMillis(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const ticks = (user ?? NaN) + (nice ?? NaN) + (system ?? NaN) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  if (!Number.isFinite(ticks)) throw new TroupeError('internal', 'unreadable /proc/stat');
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

export interface ProcessName {
  pid: number;
  /** The kernel's command name (/proc/<pid>/comm, at most 15 characters). */
  name: string;
}

/** The processes whose parent is `parentPid` right now (scans /proc/<pid>/stat). */
export async function childProcesses(parentPid: number): Promise<ProcessName[]> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
  const children: ProcessName[] = [];
  for (const pid of pids) {
    // A process may end between the listing and the read: skip it.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // Field 4 (ppid) is the second after the command name's closing parenthesis.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parentPid) children.push({ pid, name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
  }
  return children;
}

async function readProc(pid: number, file: string): Promise<string> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    throw new TroupeError('unavailable', `cannot read /proc/${pid}/${file} (has the process exited?)`, { cause: err });
  }
}

/** CPU use between two readings, in percent of one core. */
export function cpuPercent(cpuMillisDelta: number, wallMillis: number): number {
  return wallMillis > 0 ? (cpuMillisDelta / wallMillis) * 100 : 0;
}

/**
 * CPU time summed over a fixed set of processes. A process that has ended keeps its last reading,
 * so a role dying mid-step lowers no figure below what was already spent (the run reports the exit).
 */
export class CpuSum {
  private readonly last = new Map<number, number>();

  constructor(private readonly pids: readonly number[]) {}

  async read(): Promise<number> {
    let sum = 0;
    for (const pid of this.pids) {
      const millis = await readCpuMillis(pid).catch(() => this.last.get(pid) ?? 0);
      this.last.set(pid, millis);
      sum += millis;
    }
    return sum;
  }
}
