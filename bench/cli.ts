/**
 * `troupe bench`: measures a Troupe (or a peer) from outside, the way a user would, and writes a
 * report anyone can read and re-render (bench/report/). See BENCH_USAGE (bench/lib/bench-options.ts)
 * and docs/benchmarks.md.
 *
 * Each target is started (or reached, --url) in turn; every scenario runs against it with a fresh
 * population; the run is one BenchRun (bench/report/types.ts) written as JSON, HTML and markdown.
 * Exit status: 0 every check passed, 1 something was lost, duplicated, reordered or refused (or a
 * scenario failed), 2 a bad command line.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { isTroupeError } from '../transport/errors.js';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs, type BenchOptions, type TargetChoice } from './lib/bench-options.js';
import { machineInfo } from './lib/machine.js';
import type { LaunchOptions, RunningTarget } from './lib/running-target.js';
import { runSummary } from './lib/summary.js';
import type { BenchRun, ScenarioName, ScenarioRun, TargetRun } from './report/types.js';
import { runConnect } from './scenarios/connect.js';
import type { ScenarioContext } from './scenarios/context.js';
import { connectionCorrectness } from './scenarios/correctness.js';
import { runDirect } from './scenarios/direct.js';
import { runGroup } from './scenarios/group.js';
import { runIdle } from './scenarios/idle.js';
import { runRamp } from './scenarios/ramp.js';
import { runSync } from './scenarios/sync.js';
import { connectUrl } from './targets/url.js';

const SCENARIO_RUNNERS: Record<ScenarioName, (ctx: ScenarioContext) => Promise<ScenarioRun>> = {
  connect: runConnect,
  direct: runDirect,
  group: runGroup,
  sync: runSync,
  ramp: runRamp,
  idle: runIdle,
};

const progress = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Targets started and not yet stopped, so Ctrl-C can stop them. */
const running = new Set<RunningTarget>();

export async function benchCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'report') {
    const { renderReportCommand } = await import('./report/render-cli.js');
    return renderReportCommand(argv.slice(1));
  }
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`troupe bench: ${err.message}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  const onInterrupt = (): void => {
    process.stderr.write('\ntroupe bench: interrupted; stopping what the run started\n');
    void Promise.all([...running].map((t) => t.stop())).finally(() => process.exit(130));
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await runBench(options, argv);
  } catch (err) {
    process.stderr.write(`troupe bench: ${isTroupeError(err) ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return isTroupeError(err, 'config') ? 2 : 1;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await Promise.all([...running].map((t) => t.stop()));
  }
}

async function runBench(options: BenchOptions, argv: readonly string[]): Promise<number> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  progress(`troupe bench ${argv.join(' ')}: ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}`);
  if (options.pinServer === undefined && options.pinGenerator === undefined) {
    progress('server and generator are not pinned: they share the cores (--pin-server / --pin-generator to separate them); both sides\' CPU is shown');
  }
  const targets: TargetRun[] = [];
  let failed = false;
  for (const choice of options.targets) {
    const run = await runTarget(choice, options);
    targets.push(run.target);
    failed ||= run.failed;
  }
  const benchRun: BenchRun = {
    schema: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `troupe bench ${argv.join(' ')}`,
    machine,
    ...(options.pinServer === undefined && options.pinGenerator === undefined ? {} : {
      pinning: { ...(options.pinServer === undefined ? {} : { server: options.pinServer }), ...(options.pinGenerator === undefined ? {} : { generator: options.pinGenerator }) },
    }),
    targets,
  };
  progress(runSummary(benchRun));
  const outDir = isAbsolute(options.out) ? options.out : join(process.cwd(), options.out);
  for (const path of await writeReports(benchRun, outDir)) progress(`wrote ${shortPath(path)}`);
  const ok = !failed && targets.every((t) => t.scenarios.every((s) => s.correctness.ok));
  progress(ok ? 'every check passed' : 'THE RUN HAS ERRORS: see CORRECTNESS FAILED and the problems above; exit status 1');
  return ok ? 0 : 1;
}

async function runTarget(choice: TargetChoice, options: BenchOptions): Promise<{ target: TargetRun; failed: boolean }> {
  const target = await launch(choice, { progress, ...(options.pinServer === undefined ? {} : { pinServer: options.pinServer }) }, options.serverPids);
  running.add(target);
  const scenarios: ScenarioRun[] = [];
  const skipped: NonNullable<TargetRun['skipped']> = [];
  let failed = false;
  try {
    for (const scenario of options.scenarios) {
      if (scenario === 'sync' && !target.stores) {
        skipped.push({ scenario, why: `${target.label} stores no messages, so there is no history to sync` });
        continue;
      }
      progress(`\n${scenario} on ${target.label}`);
      const prefix = `b${randomBytes(4).toString('hex')}`;
      try {
        scenarios.push(await SCENARIO_RUNNERS[scenario]({ target, options, progress, prefix }));
      } catch (err) {
        failed = true;
        const why = err instanceof Error ? err.message : String(err);
        progress(`  !! ${scenario} failed: ${why}`);
        scenarios.push(failedScenario(scenario, why));
      }
    }
  } finally {
    running.delete(target);
    await target.stop();
  }
  return {
    target: { target: target.key, label: target.label, role: target.role, scenarios, ...(skipped.length === 0 ? {} : { skipped }) },
    failed,
  };
}

async function launch(choice: TargetChoice, launchOptions: LaunchOptions, serverPids: readonly number[] | undefined): Promise<RunningTarget> {
  switch (choice.kind) {
    case 'embedded':
      return (await import('./targets/embedded.js')).launchEmbedded(launchOptions);
    case 'cluster':
      return (await import('./targets/cluster.js')).launchCluster(launchOptions);
    case 'url':
      return connectUrl(choice.urls, launchOptions, serverPids);
    case 'peer':
      return (await import('./targets/peers.js')).launchPeer(choice.name, launchOptions);
  }
}

/** A path relative to the working directory when it is inside it, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** A scenario that could not run to the end: no figures, and a failed correctness so the run exits 1. */
function failedScenario(scenario: ScenarioName, why: string): ScenarioRun {
  return {
    scenario, params: {}, headline: [], timeline: [], percentiles: [],
    correctness: { ...connectionCorrectness(1, 0) }, notes: [`problem: the scenario failed: ${why}`],
  };
}

/** The JSON, HTML and markdown reports (bench/report/write.ts); the JSON alone if the renderers are not there. */
async function writeReports(run: BenchRun, outDir: string): Promise<string[]> {
  let write: (run: BenchRun, outDir: string) => Promise<{ json: string; html: string; markdown: string }>;
  try {
    write = (await import('./report/write.js')).writeRunReports;
  } catch (err) {
    const stamp = run.startedAt.replace(/[:.]/g, '-');
    await mkdir(outDir, { recursive: true });
    const json = join(outDir, `${stamp}.json`);
    await writeFile(json, `${JSON.stringify(run, null, 2)}\n`);
    progress(`the HTML and markdown reports could not be rendered (${(err as Error).message.split('\n')[0]}); the JSON is complete`);
    return [json];
  }
  const paths = await write(run, outDir);
  return [paths.json, paths.html, paths.markdown];
}

