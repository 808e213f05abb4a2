/**
 * `npm run bench`: a quick local benchmark of Troupe, in one run of about a minute (the full suite
 * is a separate piece of work). It measures, each part against its own fresh server:
 *
 * 1. throughput and ack latency under an open-loop load stepped up until acks fall behind,
 *    checking on the way that nothing is lost, duplicated or reordered (bench/lib/load-phase.ts),
 *    against the embedded server (`--target embedded`, the default), a local multi-process
 *    cluster (`--target cluster`, bench/lib/cluster-target.ts) or both in turn (`--target both`,
 *    then printed side by side);
 * 2. memory per idle authenticated WebSocket of the embedded server, beside a bare uWebSockets.js
 *    server measured the same way in the same run (bench/lib/memory-phase.ts);
 *
 * then prints a summary and writes it as JSON to bench/out/. The load generator is this process,
 * on the same cores as the server: its CPU is reported per step so a reader can tell which side
 * ran out first (docs/architecture.md).
 */
import { isTroupeError } from '../transport/errors.js';
import { startClusterTarget, stopAllClusters } from './lib/cluster-target.js';
import { comparisonTable } from './lib/comparison.js';
import { embeddedTarget } from './lib/load-target.js';
import { runMemoryPhase, type MemoryPhaseResult } from './lib/memory-phase.js';
import { parseOptions, USAGE, type BenchOptions } from './lib/options.js';
import { machineInfo, memoryTable, summaryBlock, writeReport, type BenchReport, type ClusterRun } from './lib/report.js';
import { startTroupeServer, stopAllServers, troupeServerEnv } from './lib/server-process.js';
import { runLoadOn, type TargetLoad } from './lib/target-load.js';

const progress = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(options: BenchOptions): Promise<number> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  progress(`Troupe quick benchmark: ${machine.cores} cores, Node ${machine.node}. ${machine.note}.`);

  let embedded: TargetLoad | undefined;
  let memory: MemoryPhaseResult | undefined;
  if (options.target !== 'cluster') {
    progress('load: starting a fresh Troupe server');
    embedded = await runLoadOn(embeddedTarget(await startTroupeServer({ useDist: options.dist })), options, progress);
    if (options.idle > 0) {
      memory = await runMemoryPhase(options, progress);
      progress('\nMemory per idle connection (server RSS from /proc, 2 s settle, no forced GC):');
      progress(memoryTable(memory));
    }
  }

  let cluster: ClusterRun | undefined;
  if (options.target !== 'embedded') {
    progress('\nload: starting a fresh local cluster (idle memory and the raw uWS comparison are not measured on it)');
    const target = await startClusterTarget(options, progress);
    const run = await runLoadOn(target, options, progress);
    cluster = {
      shape: options.cluster, processes: target.processes, services: target.services.map((s) => s.name),
      load: run.load, correctness: run.correctness, logLines: run.outputLines,
    };
  }
  if (embedded !== undefined && cluster !== undefined) {
    progress('\nEmbedded server and cluster, same load, one after the other on the same cores:');
    progress(comparisonTable(embedded.load, cluster.load));
  }

  const report: BenchReport = {
    startedAt, finishedAt: new Date().toISOString(), machine, options, serverEnv: troupeServerEnv(),
    load: embedded?.load, memory, correctness: embedded?.correctness, troupeLoadOutputLines: embedded?.outputLines ?? 0, cluster,
  };
  const path = await writeReport(report);
  progress(summaryBlock(report, path));
  const ok = (embedded?.correctness.ok ?? true) && (cluster?.correctness.ok ?? true);
  return ok ? 0 : 3;
}

function run(): void {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  process.once('SIGINT', () => {
    process.stderr.write('\nbench: interrupted; stopping the servers\n');
    void Promise.all([stopAllServers(), stopAllClusters()]).finally(() => process.exit(130));
  });
  main(options).then(
    (status) => process.exit(status),
    async (err: unknown) => {
      process.stderr.write(`bench: ${isTroupeError(err) ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      await Promise.all([stopAllServers(), stopAllClusters()]);
      process.exit(1);
    },
  );
}

run();
