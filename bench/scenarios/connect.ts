/**
 * `connect`: --sockets users, each logged in during setup (POST /v1/sessions, before the clock
 * starts), open their WebSockets at once (200 connecting per worker): the time until the last is
 * ready (Troupe's `ready` frame), the connect rate, and the server's RSS per idle authenticated
 * socket, (RSS after − RSS before) / N, each read after a 2 s settle, no GC forced: what an
 * operator's memory graph shows.
 */
import { HEADLINE_KEYS, headline, SCENARIO_PARAMS } from '../report/headline-keys.js';
import type { Headline, ScenarioRun, TimelinePoint } from '../report/types.js';
import type { ScenarioContext } from './context.js';
import { connectionCorrectness } from './correctness.js';
import { scenarioRun } from './scenario-run.js';
import { ScenarioSession } from './session.js';
import { generatorWarning, otherLoadWarning } from './run-notes.js';
import { TimelineBuilder } from './timeline.js';

const SETTLE_MS = 2000;

export async function runConnect(ctx: ScenarioContext): Promise<ScenarioRun> {
  const count = ctx.options.sockets;
  const session = await ScenarioSession.open(ctx, count);
  try {
    const users = await session.register();
    await sleep(SETTLE_MS);
    const sampler = await session.startSampling(Date.now());
    const rssBefore = await sampler.serverRssBytes();
    const started = Date.now();
    let ready = 0;
    const readyBySecond = new Map<number, number>();
    const ticker = setInterval(() => {
      const t = Math.round((Date.now() - started) / 1000);
      readyBySecond.set(t, ready);
      ctx.progress(`    ${t} s  ${ready}/${count} sockets ready`);
    }, 1000);
    let outcome;
    try {
      outcome = await session.connect(users, (r) => (ready = r));
    } finally {
      clearInterval(ticker);
    }
    const seconds = Math.max(outcome.lastReadyAt - started, 1) / 1000;
    readyBySecond.set(Math.ceil(seconds), outcome.ready);
    ctx.progress(`  ${outcome.ready} sockets ready in ${seconds.toFixed(2)} s${outcome.failed > 0 ? `, ${outcome.failed} FAILED (${outcome.firstError ?? ''})` : ''}`);
    await sleep(SETTLE_MS);
    const rssAfter = await sampler.serverRssBytes();
    sampler.stop();
    const unexpectedCloses = await session.pool.disconnect();

    const headlines: Headline[] = [
      headline(HEADLINE_KEYS.timeToAllReady, seconds),
      headline(HEADLINE_KEYS.connectRate, outcome.ready / seconds),
    ];
    const cpu = sampler.meanCpu(0, Math.ceil(seconds));
    const notes = [
      `${count} sockets, each its own user, logged in before the clock started; time runs from the first connect to the last ready frame`,
      `mean CPU while connecting: server ${cpu.server === undefined ? 'not readable (--url)' : `${cpu.server.toFixed(0)} %`}, generator ${cpu.generator?.toFixed(0) ?? 'n/a'} %` +
        `${cpu.other === undefined ? '' : `, other processes ${cpu.other.toFixed(0)} %`} of one core`,
      ...generatorWarning(cpu.generator, session.generatorCapacityPct()),
      ...otherLoadWarning(cpu.other),
    ];
    if (rssBefore !== undefined && rssAfter !== undefined && outcome.ready > 0) {
      headlines.push(headline(HEADLINE_KEYS.rssPerIdleSocket, (rssAfter - rssBefore) / outcome.ready));
      notes.push(`server RSS ${(rssBefore / 1048576).toFixed(1)} MiB before, ${(rssAfter / 1048576).toFixed(1)} MiB with ${outcome.ready} idle sockets (${SETTLE_MS / 1000} s settle each, no forced GC)`);
    } else {
      notes.push('server RSS not readable from here (--url): RSS per idle socket not measured');
    }
    const timeline: TimelinePoint[] = new TimelineBuilder().build(sampler.samples).map((p) => {
      const r = readyBySecond.get(p.t);
      return r === undefined ? p : { ...p, readySockets: r };
    });
    return scenarioRun({
      scenario: 'connect',
      params: { [SCENARIO_PARAMS.sockets]: count, workers: session.pool.size },
      headline: headlines,
      timeline,
      correctness: connectionCorrectness(outcome.failed, unexpectedCloses),
      problems: outcome.failed > 0 ? [`${outcome.failed} sockets did not open: ${outcome.firstError ?? ''}`] : [],
      notes,
    });
  } finally {
    await session.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
