/**
 * The load phase against one started target, from the first step to its stop: runs the steps,
 * stops the target whatever happened (so the next target has the cores to itself), prints the
 * step table and totals the checks. The embedded server and the cluster go through this alike.
 */
import { runLoadPhase, type LoadPhaseResult } from './load-phase.js';
import type { LoadTarget } from './load-target.js';
import type { BenchOptions } from './options.js';
import { correctnessTotals, stepTable, type CorrectnessTotals } from './report.js';

export interface TargetLoad {
  load: LoadPhaseResult;
  correctness: CorrectnessTotals;
  /** Lines the target's processes logged at warn or above. */
  outputLines: number;
}

const LABELS = { embedded: 'the embedded server', cluster: 'the cluster' } as const;

export async function runLoadOn(target: LoadTarget, options: BenchOptions, progress: (line: string) => void): Promise<TargetLoad> {
  let load: LoadPhaseResult;
  try {
    load = await runLoadPhase(target, options, progress);
  } finally {
    await target.stop();
  }
  progress(`\nLoad steps against ${LABELS[target.kind]} (open loop; every user one WebSocket):`);
  progress(stepTable(load.steps));
  return { load, correctness: correctnessTotals(load), outputLines: target.outputLines() };
}
