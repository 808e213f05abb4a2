/**
 * One step of the open-loop load: `rate` sends per second in total, for `durationSec`, on a fixed
 * schedule. Send i is due at t0 + i/rate whatever happened before it; a timer sends everything
 * that is due, so a slow server (or a busy generator) cannot slow the clock. Latencies are taken
 * from the due time, so time spent waiting to be sent counts (no coordinated omission).
 *
 * After the window the step waits (up to the drain timeout) for the acks and deliveries still on
 * their way, then checks the ledger. Throughput figures count only what arrived inside the window.
 */
import { performance } from 'node:perf_hooks';
import type { BenchSocket } from './clients.js';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import type { Ledger, StepCheck } from './ledger.js';
import type { LoadTarget } from './load-target.js';
import type { BenchConversation } from './population.js';
import { cpuPercent, readMachineBusyMillis } from './proc-stats.js';
import type { SendMix } from './send-mix.js';
import { sleep, waitUntil } from './wait-until.js';

export interface LoadStepOptions {
  step: number;
  rate: number;
  durationSec: number;
  drainTimeoutSec: number;
  sockets: readonly BenchSocket[];
  conversations: readonly BenchConversation[];
  mix: SendMix;
  ledger: Ledger;
  target: LoadTarget;
  /** The `text` of every message body (plain ASCII, no escaping needed). */
  text: string;
  /** Sockets the server or network closed so far in the run. */
  unexpectedCloses(): number;
  progress(line: string): void;
}

export interface StepLimits {
  /** A step fails when its ack p99 exceeds this (ms). */
  maxP99Ms: number;
  /** A step fails when acks in the window fall below this share of the offered rate. */
  minAchievedShare: number;
}

export interface StepResult {
  step: number;
  offeredPerSec: number;
  durationSec: number;
  /** Sends actually handed to sockets inside the window, per second. */
  sentPerSec: number;
  /** Acks received inside the window, per second. */
  ackedPerSec: number;
  /** msg frames received inside the window, per second. */
  deliveriesPerSec: number;
  ackLatency: LatencySummary;
  deliveryLatency: LatencySummary;
  /** How late the generator sent, against the schedule: high means the generator is the bottleneck. */
  sendLag: LatencySummary;
  /** CPU in percent of one core, over the window. */
  generatorCpuPct: number;
  /** The Troupe processes' CPU, summed (one process embedded, every role process in a cluster). */
  serverCpuPct: number;
  /** The cluster's services' CPU (MariaDB, Redis, etcd, Kafka mock), summed; absent for the embedded server. */
  serviceCpuPct?: number;
  /** CPU the machine spent on anything else (other people's processes on shared cores): high means the figures are low. */
  otherCpuPct: number;
  /** Storage group-commit writes per second over the window (each one an fsynced transaction). */
  commitsPerSec: number;
  /** Messages per group-commit write, on average over the window. */
  rowsPerCommit: number;
  /** Most bytes queued in one client socket, sampled each second. */
  maxClientBufferedBytes: number;
  drainMs: number;
  settled: boolean;
  unexpectedCloses: number;
  check: StepCheck;
  /** Why the step is not a sustained rate; empty when it is. */
  failures: string[];
}

/** At most this many sends per timer tick, so that acks are still read while the generator catches up. */
const MAX_SENDS_PER_TICK = 2000;

export async function runLoadStep(options: LoadStepOptions, limits: StepLimits): Promise<StepResult> {
  const { rate, durationSec, sockets, conversations, mix, ledger, text } = options;
  const total = Math.round(rate * durationSec);
  const intervalMs = 1000 / rate;
  const idPrefix = `s${options.step}-`;
  const sendLag = new LatencyHistogram();
  const closesBefore = options.unexpectedCloses();
  let maxBuffered = 0;
  let sent = 0;

  const machineBefore = await readMachineBusyMillis();
  const cpuBefore = process.cpuUsage();
  const { target } = options;
  const serverCpuBefore = await target.cpuMillis();
  const serviceCpuBefore = await target.serviceCpuMillis();
  const storeBefore = await target.storeCounters();
  const t0 = performance.now();
  const windowEnd = t0 + durationSec * 1000;
  let nextProgress = t0 + 1000;

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      let burst = 0;
      while (sent < total && burst < MAX_SENDS_PER_TICK) {
        const due = t0 + sent * intervalMs;
        if (due > now) break;
        const { sender, conv } = mix.next();
        const id = idPrefix + sent.toString(36);
        ledger.recordSend(id, sender, conv, due);
        sockets[sender]!.send(`{"type":"send","id":"${id}","conv":"${conversations[conv]!.id}","body":{"text":"${text}"}}`);
        sendLag.recordMillis(now - due);
        sent += 1;
        burst += 1;
      }
      if (now >= nextProgress) {
        nextProgress += 1000;
        maxBuffered = Math.max(maxBuffered, ...sockets.map((s) => s.bufferedAmount));
        options.progress(
          `    ${((now - t0) / 1000).toFixed(0).padStart(3)} s  sent ${sent}  acked ${ledger.ackCount}  ` +
            `in flight ${ledger.inFlight}  msgs ${ledger.deliveryCount}  ack p99 so far ${ledger.ackLatency.quantileMillis(0.99).toFixed(1)} ms`,
        );
      }
      if (sent >= total && now >= windowEnd) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });

  const windowMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpuBefore);
  const machineBusy = (await readMachineBusyMillis()) - machineBefore;
  const serverCpu = (await target.cpuMillis()) - serverCpuBefore;
  const serviceCpuAfter = await target.serviceCpuMillis();
  const storeAfter = await target.storeCounters();
  const commits = storeAfter.commits - storeBefore.commits;
  const ackedInWindow = ledger.ackCount;
  const deliveredInWindow = ledger.deliveryCount;

  const drainStart = performance.now();
  const settled = await waitUntil(() => ledger.settled(), options.drainTimeoutSec * 1000);
  const drainMs = performance.now() - drainStart;
  // Give a straggling duplicate or stray frame a moment to show up before the books are closed.
  await sleep(100);
  const ackLatency = ledger.ackLatency.summary();
  const deliveryLatency = ledger.deliveryLatency.summary();
  const check = ledger.closeStep();

  const result: StepResult = {
    step: options.step,
    offeredPerSec: rate,
    durationSec,
    sentPerSec: (sent / windowMs) * 1000,
    ackedPerSec: (ackedInWindow / windowMs) * 1000,
    deliveriesPerSec: (deliveredInWindow / windowMs) * 1000,
    ackLatency,
    deliveryLatency,
    sendLag: sendLag.summary(),
    generatorCpuPct: cpuPercent((cpu.user + cpu.system) / 1000, windowMs),
    serverCpuPct: cpuPercent(serverCpu, windowMs),
    serviceCpuPct: serviceCpuBefore === undefined || serviceCpuAfter === undefined ? undefined : cpuPercent(serviceCpuAfter - serviceCpuBefore, windowMs),
    otherCpuPct: 0,
    commitsPerSec: (commits / windowMs) * 1000,
    rowsPerCommit: commits > 0 ? (storeAfter.rows - storeBefore.rows) / commits : 0,
    maxClientBufferedBytes: maxBuffered,
    drainMs,
    settled,
    unexpectedCloses: options.unexpectedCloses() - closesBefore,
    check,
    failures: [],
  };
  const ours = result.generatorCpuPct + result.serverCpuPct + (result.serviceCpuPct ?? 0);
  // Readings of different files at slightly different moments: a small negative remainder is noise.
  result.otherCpuPct = Math.max(0, cpuPercent(machineBusy, windowMs) - ours);
  result.failures = failuresOf(result, limits);
  return result;
}

function failuresOf(r: StepResult, limits: StepLimits): string[] {
  const failures: string[] = [];
  if (r.ackLatency.p99 > limits.maxP99Ms) failures.push(`ack p99 ${r.ackLatency.p99.toFixed(0)} ms > ${limits.maxP99Ms} ms`);
  if (r.ackedPerSec < limits.minAchievedShare * r.offeredPerSec) {
    failures.push(`acked ${r.ackedPerSec.toFixed(0)}/s < ${(limits.minAchievedShare * 100).toFixed(0)} % of offered`);
  }
  const c = r.check;
  if (c.missingAcks > 0) failures.push(`${c.missingAcks} sends never acked`);
  const errorCount = Object.values(c.errors).reduce((a, b) => a + b, 0);
  if (errorCount > 0) failures.push(`${errorCount} error frames ${JSON.stringify(c.errors)}`);
  if (c.seqGaps > 0 || c.seqDuplicates > 0) failures.push(`${c.seqGaps} seq gaps, ${c.seqDuplicates} duplicate seqs`);
  if (c.sendOrderViolations > 0) failures.push(`${c.sendOrderViolations} acks out of send order`);
  if (c.missingDeliveries > 0) failures.push(`${c.missingDeliveries} msg deliveries missing`);
  if (c.deliveryOrderViolations > 0) failures.push(`${c.deliveryOrderViolations} msg deliveries duplicated or out of order`);
  if (c.unknownFrames > 0) failures.push(`${c.unknownFrames} acks/msgs for unknown messages`);
  if (r.unexpectedCloses > 0) failures.push(`${r.unexpectedCloses} sockets closed by the server`);
  return failures;
}

/** True when the step's failures are about correctness (lost, duplicated, reordered), not speed. */
export function hasCorrectnessFailure(r: StepResult): boolean {
  const c = r.check;
  return c.missingAcks + c.seqGaps + c.seqDuplicates + c.sendOrderViolations + c.missingDeliveries +
    c.deliveryOrderViolations + c.unknownFrames + Object.keys(c.errors).length + r.unexpectedCloses > 0;
}
