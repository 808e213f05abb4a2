/**
 * What the run prints and keeps: the table of load steps, the memory comparison, and a final
 * summary (also written as JSON to bench/out/). Correctness problems are printed in a banner,
 * never folded into a footnote.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import type { IdleMemoryResult } from './idle-memory.js';
import type { LoadPhaseResult } from './load-phase.js';
import { hasCorrectnessFailure, type StepResult } from './load-step.js';
import type { MemoryPhaseResult } from './memory-phase.js';
import type { ClusterProcessInfo } from './cluster-target.js';
import type { BenchOptions, ClusterShape } from './options.js';
import { REPO_ROOT } from './server-process.js';
import { fmt, ms, table } from './text-table.js';

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: { cores: number; cpuModel: string; node: string; platform: string; note: string };
  options: BenchOptions;
  serverEnv: Readonly<Record<string, string>>;
  /** The load against the embedded server; undefined with `--target cluster`. */
  load: LoadPhaseResult | undefined;
  /** Idle memory of the embedded server (the cluster's is not measured). */
  memory: MemoryPhaseResult | undefined;
  correctness: CorrectnessTotals | undefined;
  /** Lines the load-phase Troupe server logged at warn or above. */
  troupeLoadOutputLines: number;
  /** The same load against a local cluster; undefined with `--target embedded`. */
  cluster: ClusterRun | undefined;
}

export interface ClusterRun {
  shape: ClusterShape;
  processes: readonly ClusterProcessInfo[];
  /** Command names of the service processes whose CPU is reported apart. */
  services: readonly string[];
  load: LoadPhaseResult;
  correctness: CorrectnessTotals;
  /** Lines the role processes logged at warn or above. */
  logLines: number;
}

export interface CorrectnessTotals {
  ok: boolean;
  sent: number;
  acked: number;
  missingAcks: number;
  errorFrames: number;
  seqGaps: number;
  seqDuplicates: number;
  sendOrderViolations: number;
  deliveries: number;
  missingDeliveries: number;
  deliveryOrderViolations: number;
  unknownFrames: number;
  unexpectedCloses: number;
  serverSeqMismatches: number;
}

export function machineInfo(): BenchReport['machine'] {
  const all = cpus();
  return {
    cores: all.length,
    cpuModel: all[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    note: `server and load generator run on the same ${all.length} cores; the generator's and the server's CPU are shown per step`,
  };
}

export function stepTable(steps: readonly StepResult[]): string {
  // The services' column only for a target that has services (the cluster).
  const services = steps.some((s) => s.serviceCpuPct !== undefined);
  const header = ['step', 'offered/s', 'sent/s', 'acked/s', 'ack p50', 'p90', 'p99', 'p99.9', 'max', 'msgs/s', 'msg p99', 'send lag p99', 'gen CPU', 'srv CPU',
    ...(services ? ['svc CPU'] : []), 'other CPU', 'commits/s', 'rows/commit', 'verdict'];
  const rows = steps.map((s) => [
    String(s.step), fmt(s.offeredPerSec), fmt(s.sentPerSec), fmt(s.ackedPerSec),
    ms(s.ackLatency.p50), ms(s.ackLatency.p90), ms(s.ackLatency.p99), ms(s.ackLatency.p999), ms(s.ackLatency.max),
    fmt(s.deliveriesPerSec), ms(s.deliveryLatency.p99), ms(s.sendLag.p99),
    `${s.generatorCpuPct.toFixed(0)} %`, percent(s.serverCpuPct), ...(services ? [percent(s.serviceCpuPct)] : []), percent(s.otherCpuPct), fmt(s.commitsPerSec), s.rowsPerCommit.toFixed(1),
    verdict(s),
  ]);
  return table(header, rows) +
    '\n  latencies in ms from the scheduled send time; CPU in % of one core over the window;' +
    (services ? '\n  srv CPU = every role process summed, svc CPU = MariaDB, Redis, etcd and the Kafka mock summed;' : '') +
    '\n  other CPU = the machine\'s busy time less the generator\'s and the server\'s: anything else on the shared cores;' +
    '\n  commits = the storage\'s group-commit writes (troupe_store_batch_rows from /metrics), each an fsynced transaction' +
    (services ? ' (MariaDB)' : ' (SQLite)');
}

/** CPU in % of one core; `-` when not measured. */
export const percent = (pct: number | undefined): string => (pct === undefined ? '-' : `${pct.toFixed(0)} %`);

export const verdict = (s: StepResult): string => (s.failures.length === 0 ? 'sustained' : 'NOT sustained');

export function memoryTable(memory: MemoryPhaseResult): string {
  const rows = [memory.troupe, memory.raw].filter((r): r is IdleMemoryResult => r !== undefined).map((r) => [
    r.server, fmt(r.connections), (r.rssBeforeKiB / 1024).toFixed(1), (r.rssAfterKiB / 1024).toFixed(1), r.perConnectionKiB.toFixed(2), fmt(r.openMs),
  ]);
  const ratio = memory.ratio === undefined ? '' : `\n  Troupe / raw uWS: ${memory.ratio.toFixed(1)}×`;
  return table(['server', 'idle conns', 'RSS before MiB', 'RSS after MiB', 'KiB per conn', 'open ms'], rows) + ratio;
}

export function correctnessTotals(load: LoadPhaseResult): CorrectnessTotals {
  const t: CorrectnessTotals = {
    ok: true, sent: 0, acked: 0, missingAcks: 0, errorFrames: 0, seqGaps: 0, seqDuplicates: 0, sendOrderViolations: 0,
    deliveries: 0, missingDeliveries: 0, deliveryOrderViolations: 0, unknownFrames: 0, unexpectedCloses: 0,
    serverSeqMismatches: load.serverSeqCheck.mismatches,
  };
  for (const s of load.steps) {
    const c = s.check;
    t.sent += c.sent;
    t.acked += c.acked;
    t.missingAcks += c.missingAcks;
    t.errorFrames += Object.values(c.errors).reduce((a, b) => a + b, 0);
    t.seqGaps += c.seqGaps;
    t.seqDuplicates += c.seqDuplicates;
    t.sendOrderViolations += c.sendOrderViolations;
    t.deliveries += c.deliveries;
    t.missingDeliveries += c.missingDeliveries;
    t.deliveryOrderViolations += c.deliveryOrderViolations;
    t.unknownFrames += c.unknownFrames;
    t.unexpectedCloses += s.unexpectedCloses;
  }
  t.ok = !load.steps.some(hasCorrectnessFailure) && t.serverSeqMismatches === 0;
  return t;
}

export function summaryBlock(report: BenchReport, jsonPath: string | undefined): string {
  const out: string[] = ['', '==================== Troupe quick benchmark: summary ===================='];
  const m = report.machine;
  out.push(`machine      ${m.cores} cores (${m.cpuModel}), Node ${m.node}, ${m.platform}`);
  out.push(`             the server and this load generator SHARE these ${m.cores} cores: figures are a floor, not the server's ceiling`);
  const both = report.load !== undefined && report.cluster !== undefined;
  if (report.load !== undefined) {
    if (both) out.push('--- embedded: troupe dev, one process');
    out.push(...loadLines(report.load, report.correctness, report.options.maxRate));
  }
  const cluster = report.cluster;
  if (cluster !== undefined) {
    const { gateways, logic, repo, task } = cluster.shape;
    out.push(`--- cluster: ${gateways} gateway, ${logic} logic, ${repo} repo, ${task} task processes on MariaDB, Redis, etcd and the Kafka mock; ` +
      'server CPU = role processes summed (services apart in the tables above)');
    out.push(...loadLines(cluster.load, cluster.correctness, report.options.maxRate));
    if (cluster.logLines > 0) out.push(`cluster log  the role processes logged ${cluster.logLines} warning/error lines (first lines shown on stderr, prefixed [<node id>]; logs kept in bench/out/cluster-logs-*)`);
  }
  if (both || cluster !== undefined) out.push('---');
  const memory = report.memory;
  if (memory !== undefined) {
    const t = memory.troupe;
    let line = `memory       Troupe ${t.perConnectionKiB.toFixed(2)} KiB per idle connection (${fmt(t.connections)} authenticated, one user each)`;
    if (memory.raw !== undefined) line += `; raw uWS ${memory.raw.perConnectionKiB.toFixed(2)} KiB; Troupe/raw ${memory.ratio?.toFixed(1) ?? '-'}×`;
    out.push(line + (cluster !== undefined ? ', embedded server only' : ''));
  }
  if (cluster !== undefined) out.push('             idle memory and the raw uWS comparison are not measured on the cluster');
  out.push(`settings     ${Object.entries(report.serverEnv).map(([k, v]) => `${k}=${v}`).join(' ')} (else config/default.yaml)`);
  if (report.troupeLoadOutputLines > 0) out.push(`server log   the load-phase server logged ${report.troupeLoadOutputLines} warning/error lines (shown above, prefixed [troupe])`);
  if (jsonPath !== undefined) out.push(`results      ${relative(process.cwd(), jsonPath) || jsonPath}`);
  out.push('========================================================================');
  return out.join('\n');
}

function loadLines(load: LoadPhaseResult, c: CorrectnessTotals | undefined, maxRate: number): string[] {
  const out = [`population   ${load.users} users (one WebSocket each), ${load.groups} groups of ${load.groupSize}, ${load.directs} direct conversations; ` +
    `${load.meanFanout.toFixed(2)} msg deliveries per send on average`];
  const best = load.highestSustained;
  out.push(best === undefined
    ? 'sustained    NONE: the first step already failed'
    : `sustained    ${fmt(best.offeredPerSec)} sends/s: ack p50 ${ms(best.ackLatency.p50)} ms, p99 ${ms(best.ackLatency.p99)} ms, ` +
      `max ${ms(best.ackLatency.max)} ms; ${fmt(best.deliveriesPerSec)} msg deliveries/s (generator CPU ${best.generatorCpuPct.toFixed(0)} %, server CPU ${best.serverCpuPct.toFixed(0)} %)`);
  const failed = load.lowestFailed;
  if (failed !== undefined) {
    out.push(`not sustained ${fmt(failed.offeredPerSec)} sends/s: ${failed.failures.join('; ')}`);
    out.push(`             at that step: generator CPU ${failed.generatorCpuPct.toFixed(0)} %, server CPU ${failed.serverCpuPct.toFixed(0)} % of one core; ` +
      `send lag p99 ${ms(failed.sendLag.p99)} ms`);
  } else {
    out.push(`             every step up to --max-rate ${fmt(maxRate)} was sustained; raise it to find the limit`);
  }
  if (c !== undefined) out.push(...correctnessLines(c, load));
  return out;
}

function correctnessLines(c: CorrectnessTotals, load: LoadPhaseResult): string[] {
  if (c.ok) {
    return [`correctness  OK: ${fmt(c.sent)} sends, every one acked; seqs gap-free and in send order in all ${load.serverSeqCheck.conversations} conversations ` +
      `(server lastSeq agrees); ${fmt(c.deliveries)} msg deliveries, none missing, duplicated or out of order`];
  }
  const lines = [
    '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    '!! CORRECTNESS PROBLEMS: the figures above come from a run that did not',
    '!! get back everything it sent. Counts over all steps:',
    `!!   sends ${fmt(c.sent)}, acked ${fmt(c.acked)}, NOT acked (within the drain) ${fmt(c.missingAcks)}, error frames ${fmt(c.errorFrames)}`,
    `!!   seq gaps ${fmt(c.seqGaps)}, duplicate seqs ${fmt(c.seqDuplicates)}, acks out of send order ${fmt(c.sendOrderViolations)}`,
    `!!   deliveries missing ${fmt(c.missingDeliveries)}, duplicated/out of order ${fmt(c.deliveryOrderViolations)}, frames for unknown messages ${fmt(c.unknownFrames)}`,
    `!!   sockets closed by the server ${fmt(c.unexpectedCloses)}, conversations whose server lastSeq differs from the acks ${fmt(c.serverSeqMismatches)}`,
  ];
  for (const example of load.serverSeqCheck.examples) lines.push(`!!   ${example}`);
  if (load.steps.some((s) => !s.settled)) {
    lines.push('!! A step did not drain in time: unacked sends of an overloaded step may be late rather than lost;');
    lines.push('!! the server lastSeq check above tells which (stored but unacked = late ack; below the acks = lost).');
  }
  lines.push('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
  return lines;
}

/** Writes the report to bench/out/quick-<timestamp>.json and returns the path. */
export async function writeReport(report: BenchReport): Promise<string> {
  const dir = join(REPO_ROOT, 'bench', 'out');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `quick-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
