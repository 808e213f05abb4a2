/**
 * CPU pinning with `taskset` (util-linux): `--pin-server` and `--pin-generator` put the server
 * and the load generator on different cores, so neither steals the other's CPU and a reader knows
 * which side a figure is bound by. A process is pinned with all its threads (`taskset -a -p`);
 * threads it starts later inherit the mask.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TroupeError } from '../../transport/errors.js';

const run = promisify(execFile);

/** A taskset CPU list: `0`, `0,1`, `2-3`, `0,2-3`. */
export const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

export async function pinProcess(pid: number, cpus: string): Promise<void> {
  if (!CPU_LIST.test(cpus)) throw new TroupeError('config', `"${cpus}" is not a CPU list: give e.g. 0 or 0,1 or 2-3`);
  try {
    await run('taskset', ['-a', '-p', '-c', cpus, String(pid)]);
  } catch (err) {
    throw new TroupeError('unavailable', `taskset could not pin process ${pid} to CPUs ${cpus}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** How many CPUs a taskset list names (`0,2-3` is 3). */
export function cpuListSize(cpus: string): number {
  return cpus.split(',').reduce((sum, part) => {
    const [from, to] = part.split('-').map(Number);
    return sum + (to === undefined ? 1 : to - from! + 1);
  }, 0);
}
