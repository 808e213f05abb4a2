/**
 * The throughput part of the run, against its own fresh target (the embedded server or a
 * cluster, bench/lib/load-target.ts; each user on its own entry point): set up the population,
 * connect every user, step the offered rate up (doubling) until a step is not sustained (or down,
 * halving, while not even the first is), then bisect between the last sustained and the first
 * failed rate (`--refine` times), and finally compare each conversation's lastSeq on the server
 * with the seqs the run saw acked.
 */
import { performance } from 'node:perf_hooks';
import { closeAll, openMany } from './clients.js';
import { mapConcurrently, type Session } from './http-api.js';
import { Ledger } from './ledger.js';
import { EntryPoints, type LoadTarget } from './load-target.js';
import { hasCorrectnessFailure, runLoadStep, type StepResult } from './load-step.js';
import type { BenchOptions } from './options.js';
import { createPopulation, type ApiFor, type BenchConversation } from './population.js';
import { SendMix } from './send-mix.js';

/** A step whose acks in the window fall below this share of the offered rate is not sustained. */
const MIN_ACHIEVED_SHARE = 0.9;
/** When the first step is not sustained, the rate is halved at most this often (down to 1/16). */
const MAX_HALVINGS = 4;

export interface ServerSeqCheck {
  conversations: number;
  /** Conversations whose lastSeq on the server differs from the newest seq the run saw acked, or could not be read. */
  mismatches: number;
  examples: string[];
}

export interface LoadPhaseResult {
  users: number;
  groups: number;
  groupSize: number;
  directs: number;
  /** Mean msg frames per send (members − 1). */
  meanFanout: number;
  steps: StepResult[];
  /** The sustained step with the highest rate; undefined if none was. */
  highestSustained: StepResult | undefined;
  /** The failed step with the lowest rate; undefined if every step was sustained. */
  lowestFailed: StepResult | undefined;
  serverSeqCheck: ServerSeqCheck;
}

export async function runLoadPhase(target: LoadTarget, options: BenchOptions, progress: (line: string) => void): Promise<LoadPhaseResult> {
  const entries = new EntryPoints(target.baseUrls);
  const apiFor: ApiFor = (user) => entries.apiFor(user);
  const spread = target.baseUrls.length > 1 ? `, spread over ${target.baseUrls.length} gateways` : '';
  progress(`setting up ${options.connections} users${spread}, ${options.groups} groups of ${options.groupSize}, ${options.directs} direct conversations`);
  const population = await createPopulation(apiFor, 'load', {
    users: options.connections, groups: options.groups, groupSize: options.groupSize, directs: options.directs,
  }, progress);
  const { users, conversations } = population;
  const ledger = new Ledger(conversations, users.length);
  const mix = new SendMix(conversations);
  let unexpectedCloses = 0;

  const sockets = await openMany({
    count: users.length,
    urlOf: (i) => entries.webSocketUrl(i, users[i]!.accessToken),
    readyOn: 'ready-frame',
    concurrency: 50,
    perSourceAddress: 25_000,
    onFrame: (socket, frame) => ledger.onFrame(socket.index, frame, performance.now()),
    onUnexpectedClose: (socket, code) => {
      unexpectedCloses += 1;
      if (unexpectedCloses <= 5) progress(`  !! socket of user ${socket.index} closed by the server with code ${code}`);
    },
  });
  progress(`  ${sockets.length} WebSockets connected and ready`);

  const steps: StepResult[] = [];
  let highestSustained: StepResult | undefined;
  let lowestFailed: StepResult | undefined;
  const runStep = async (rate: number): Promise<StepResult> => {
    const step = steps.length + 1;
    progress(`step ${step}: ${rate} sends/s offered for ${options.duration} s`);
    const result = await runLoadStep({
      step, rate, durationSec: options.duration, drainTimeoutSec: options.drain, sockets, conversations, mix, ledger, target,
      text: 'x'.repeat(options.bodyChars), unexpectedCloses: () => unexpectedCloses, progress,
    }, { maxP99Ms: options.maxP99Ms, minAchievedShare: MIN_ACHIEVED_SHARE });
    steps.push(result);
    progress(`  step ${step} done: acked ${result.ackedPerSec.toFixed(0)}/s, ack p50 ${result.ackLatency.p50.toFixed(1)} ms, p99 ` +
      `${result.ackLatency.p99.toFixed(1)} ms, ${result.settled ? `drained in ${result.drainMs.toFixed(0)} ms` : `NOT drained after ${options.drain} s`}`);
    for (const example of result.check.examples) progress(`  !! ${example}`);
    if (result.failures.length > 0) {
      progress(`  step ${step} not sustained: ${result.failures.join('; ')}`);
      if (lowestFailed === undefined || rate < lowestFailed.offeredPerSec) lowestFailed = result;
    } else if (highestSustained === undefined || rate > highestSustained.offeredPerSec) {
      highestSustained = result;
    }
    return result;
  };
  try {
    // Double until a step is not sustained…
    for (let rate = options.rate; rate <= options.maxRate; rate *= 2) {
      const result = await runStep(rate);
      if (result.failures.length > 0) break;
    }
    // …or, when even the first step was not, halve until one is, so a slow target still gets a
    // figure. Here and below, only after a step that drained: a step still being answered would
    // blur the next one's figures and checks.
    for (let h = 0; h < MAX_HALVINGS && highestSustained === undefined; h++) {
      const last = steps[steps.length - 1]!;
      const lower = roundRate(last.offeredPerSec / 2);
      if (!last.settled || hasCorrectnessFailure(last) || lower >= last.offeredPerSec) break;
      await runStep(lower);
    }
    // …then bisect between the last sustained and the first failed rate.
    for (let r = 0; r < options.refine; r++) {
      const last = steps[steps.length - 1]!;
      if (highestSustained === undefined || lowestFailed === undefined || !last.settled || hasCorrectnessFailure(last)) break;
      const mid = roundRate((highestSustained.offeredPerSec + lowestFailed.offeredPerSec) / 2);
      if (mid <= highestSustained.offeredPerSec || mid >= lowestFailed.offeredPerSec) break;
      await runStep(mid);
    }
    const serverSeqCheck = await checkServerSeqs(apiFor, population.users, conversations, ledger.checkedLastSeqs());
    return {
      users: users.length, groups: options.groups, groupSize: options.groupSize, directs: options.directs,
      meanFanout: mix.meanFanout(conversations), steps, highestSustained, lowestFailed, serverSeqCheck,
    };
  } finally {
    await closeAll(sockets);
  }
}

/** A rate rounded to 2 significant digits (1,500 rather than 1,537), for a readable table. */
function roundRate(rate: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(rate)) - 1);
  return Math.round(rate / unit) * unit;
}

async function checkServerSeqs(
  apiFor: ApiFor,
  users: readonly Session[],
  conversations: readonly BenchConversation[],
  acked: ReadonlyMap<string, number>,
): Promise<ServerSeqCheck> {
  const examples: string[] = [];
  // A server that cannot answer (e.g. a cluster whose nodes died) fails the check; the run still reports.
  const views = await mapConcurrently(conversations, 16, (c) =>
    apiFor(c.members[0]!).getConversation(users[c.members[0]!]!, c.id).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
  );
  let mismatches = 0;
  views.forEach((view, i) => {
    const expected = acked.get(conversations[i]!.id) ?? 0;
    if (!(view instanceof Error) && view.lastSeq === expected) return;
    mismatches += 1;
    if (examples.length >= 10) return;
    if (view instanceof Error) {
      examples.push(`conversation ${conversations[i]!.id}: lastSeq unreadable (${view.message.slice(0, 160)})`);
    } else {
      examples.push(view.lastSeq > expected
        ? `conversation ${view.id}: server lastSeq ${view.lastSeq}, but acks seen only up to ${expected} (stored, ack late or lost)`
        : `conversation ${view.id}: server lastSeq ${view.lastSeq}, below the acked seq ${expected} (ACKED MESSAGES NOT STORED)`);
    }
  });
  return { conversations: conversations.length, mismatches, examples };
}
