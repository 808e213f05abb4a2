/**
 * `idle`: what the server spends doing nothing. The target is started (a cluster is measured once
 * every upstream partition is claimed, bench/lib/cluster-target.ts), left to settle a little more,
 * then measured for --duration seconds with no user, socket or message: each kind of process's CPU
 * in percent of one core, the Troupe processes together, and the machine's wakeup floor beside
 * them (an idle process that polls pays it on every poll).
 */
import { ResourceSampler } from '../lib/resource-sampler.js';
import { sleep } from '../lib/wait-until.js';
import type { ScenarioRun } from '../report/types.js';
import type { ScenarioContext } from './context.js';
import { connectionCorrectness } from './correctness.js';
import { otherLoadWarning } from './run-notes.js';
import { scenarioRun } from './scenario-run.js';
import { openCpuWindow, serverCpuFigures } from './server-cpu.js';
import { TimelineBuilder } from './timeline.js';

export const IDLE_DEFAULT_DURATION = 20;
/** Seconds left alone before the window: the last start-up work (compilation, first timers) is not idling. */
export const IDLE_SETTLE_SEC = 2;

export async function runIdle(ctx: ScenarioContext): Promise<ScenarioRun> {
  const durationSec = ctx.options.duration ?? IDLE_DEFAULT_DURATION;
  ctx.progress(`  settling for ${IDLE_SETTLE_SEC} s, then measuring ${durationSec} s with no load`);
  await sleep(IDLE_SETTLE_SEC * 1000);
  const startAt = Date.now();
  const window = await openCpuWindow(ctx, startAt, startAt + durationSec * 1000);
  const pids = ctx.target.serverPids();
  const sampler = new ResourceSampler(pids, [], startAt);
  await sampler.start();
  try {
    await sleep(durationSec * 1000);
  } finally {
    sampler.stop();
  }
  const figures = await serverCpuFigures(ctx, window);
  const cpu = sampler.meanCpu(0, durationSec);
  return scenarioRun({
    scenario: 'idle',
    params: { duration: durationSec, settle: IDLE_SETTLE_SEC },
    headline: figures.headline,
    timeline: new TimelineBuilder().build(sampler.samples),
    correctness: connectionCorrectness(0, 0),
    processCpu: figures.processCpu,
    wakeupFloor: figures.wakeupFloor,
    notes: [
      `no users, sockets or messages; ${pids.length} server process${pids.length === 1 ? '' : 'es'} measured`,
      ...(cpu.server === undefined ? [] : [`mean CPU sampled once a second: server ${cpu.server.toFixed(1)} %${cpu.other === undefined ? '' : `, other processes on the machine ${cpu.other.toFixed(0)} %`} of one core`]),
      ...otherLoadWarning(cpu.other, 'and a wakeup may cost more on a busy machine'),
      ...figures.notes,
    ],
  });
}
