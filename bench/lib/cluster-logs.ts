/**
 * A local cluster's role logs, before its folder goes away: each role process logs (at warn and
 * above) to a file of the cluster's folder. The lines are counted, the first few of each shown on
 * stderr, and every log that has any is kept in bench/out/cluster-logs-<time>/.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { LocalCluster } from '../../bin/local-cluster/launcher.js';
import { REPO_ROOT } from './server-process.js';

/** Log lines of each role process shown; the rest are only counted (and kept). */
const SHOWN_LINES_PER_PROCESS = 3;

/** Counts, shows and keeps the role logs; returns the count of lines. */
export async function keepRoleLogs(cluster: LocalCluster, progress: (line: string) => void): Promise<number> {
  const kept = join(REPO_ROOT, 'bench', 'out', `cluster-logs-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  let total = 0;
  for (const p of cluster.processes) {
    const text = await readFile(p.logFile, 'utf8').catch(() => '');
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    if (lines.length === 0) continue;
    total += lines.length;
    for (const line of lines.slice(0, SHOWN_LINES_PER_PROCESS)) process.stderr.write(`[${p.spec.nodeId}] ${line}\n`);
    if (lines.length > SHOWN_LINES_PER_PROCESS) process.stderr.write(`[${p.spec.nodeId}] (${lines.length - SHOWN_LINES_PER_PROCESS} further lines not shown)\n`);
    await mkdir(kept, { recursive: true });
    await writeFile(join(kept, `${p.spec.nodeId}.log`), text);
  }
  if (total > 0) progress(`  the role processes logged ${total} warning/error lines; their logs are kept in ${relative(process.cwd(), kept)}`);
  return total;
}
