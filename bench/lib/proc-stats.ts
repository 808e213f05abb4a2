/**
 * Resource figures of another process, read from Linux's /proc: resident memory (what the
 * memory-per-connection figure is made of) and CPU time (so a reader can see which side of the
 * benchmark ran out of cores). Linux only, like the machines this benchmark runs on.
 */
import { readFile } from 'node:fs/promises';
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
