/**
 * `npm run bench`: a quick local benchmark of the embedded Troupe server, in one run of about a
 * minute (the full suite is a separate piece of work). It measures, each part against its own
 * fresh server child process:
 *
 * 1. throughput and ack latency under an open-loop load stepped up until acks fall behind,
 *    checking on the way that nothing is lost, duplicated or reordered (bench/lib/load-phase.ts);
 * 2. memory per idle authenticated WebSocket, beside a bare uWebSockets.js server measured the
 *    same way in the same run (bench/lib/memory-phase.ts);
 *
 * then prints a summary and writes it as JSON to bench/out/. The load generator is this process,
 * on the same cores as the server: its CPU is reported per step so a reader can tell which side
 * ran out first (DESIGN.md, "Performance method").
 */
import { isTroupeError } from '../transport/errors.js';
import { runLoadPhase, type LoadPhaseResult } from './lib/load-phase.js';
import { runMemoryPhase, type MemoryPhaseResult } from './lib/memory-phase.js';
import { parseOptions, USAGE, type BenchOptions } from './lib/options.js';
import { correctnessTotals, machineInfo, memoryTable, stepTable, summaryBlock, writeReport, type BenchReport } from './lib/report.js';
import { startTroupeServer, stopAllServers, troupeServerEnv } from './lib/server-process.js';

const progress = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(options: BenchOptions): Promise<number> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  progress(`Troupe quick benchmark: ${machine.cores} cores, Node ${machine.node}. ${machine.note}.`);

  let load: LoadPhaseResult | undefined;
  let troupeLoadOutputLines = 0;
  progress('load: starting a fresh Troupe server');
  const server = await startTroupeServer({ useDist: options.dist });
  try {
    load = await runLoadPhase(server, options, progress);
  } finally {
    troupeLoadOutputLines = server.outputLines();
    await server.stop();
  }
  progress('\nLoad steps (open loop; every user one WebSocket):');
  progress(stepTable(load.steps));

  let memory: MemoryPhaseResult | undefined;
  if (options.idle > 0) {
    memory = await runMemoryPhase(options, progress);
    progress('\nMemory per idle connection (server RSS from /proc, 2 s settle, no forced GC):');
    progress(memoryTable(memory));
  }

  const correctness = correctnessTotals(load);
  const report: BenchReport = {
    startedAt, finishedAt: new Date().toISOString(), machine, options, serverEnv: troupeServerEnv(),
    load, memory, correctness, troupeLoadOutputLines,
  };
  const path = await writeReport(report);
  progress(summaryBlock(report, path));
  return correctness.ok ? 0 : 3;
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
    void stopAllServers().finally(() => process.exit(130));
  });
  main(options).then(
    (status) => process.exit(status),
    async (err: unknown) => {
      process.stderr.write(`bench: ${isTroupeError(err) ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      await stopAllServers();
      process.exit(1);
    },
  );
}

run();
