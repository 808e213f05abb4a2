/**
 * `troupe bench` as a user runs it: the real process (bin/troupe.ts from the sources) starting its
 * own embedded server, with tiny loads, and the BenchRun JSON it wrote read back: every check
 * passed and the figures add up. A bad flag exits 2 with one line naming it.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { HEADLINE_KEYS } from '../../bench/report/headline-keys.js';
import type { BenchRun, ScenarioRun } from '../../bench/report/types.js';
import { runFromSources, type RunResult } from '../support/run-from-sources.js';


/** Runs `troupe bench <args>` from the sources, without the machine's TROUPE_ variables. */
function troupeBench(args: string[]): Promise<RunResult> {
  return runFromSources('bin/troupe.ts', ['bench', ...args]);
}

async function theRun(outDir: string): Promise<BenchRun> {
  const jsons = (await readdir(outDir)).filter((f) => f.endsWith('.json'));
  expect(jsons, 'one JSON report').to.have.length(1);
  return JSON.parse(await readFile(join(outDir, jsons[0]!), 'utf8')) as BenchRun;
}

function headlineValue(run: ScenarioRun, key: string): number | undefined {
  return run.headline.find((h) => h.key === key)?.value;
}

describe('bench: troupe bench against its own embedded server', function () {
  this.timeout(60_000);
  let outDir: string;

  beforeEach(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'troupe-bench-spec-'));
  });

  afterEach(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('direct, 3 pairs at 20 msgs/s for 2 s over 2 workers: every check passes and the counts add up', async () => {
    // Users 0-2 live in one worker, 3-5 in the other: the pair (2, 3) is delivered across workers.
    const result = await troupeBench(['direct', '--embedded', '--pairs', '3', '--rate', '20', '--duration', '2', '--warmup', '1', '--workers', '2', '--drain', '10', '--out', outDir]);
    expect(result.status, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain('every check passed');
    const run = await theRun(outDir);
    expect(run.schema).to.equal(1);
    expect(run.command).to.contain('bench direct');
    expect(run.targets).to.have.length(1);
    const target = run.targets[0]!;
    expect(target.target).to.equal('embedded');
    expect(target.role).to.equal('subject');
    const direct = target.scenarios[0]!;
    expect(direct.scenario).to.equal('direct');
    const c = direct.correctness;
    expect(c.ok).to.equal(true);
    expect([c.lost, c.duplicated, c.reordered, c.errors, c.unexpectedCloses]).to.deep.equal([0, 0, 0, 0, 0]);
    // 2 s of warm-up and 2 s measured at 20 msgs/s; each message has one recipient.
    // 1 s of warm-up and 2 s measured at 20 msgs/s.
    expect(c.sent).to.equal(60);
    expect(c.acked).to.equal(c.sent);
    expect(c.expectedDeliveries).to.equal(c.sent);
    expect(c.delivered).to.equal(c.expectedDeliveries);
    expect(direct.ack?.count).to.equal(40);
    expect(direct.delivery?.count).to.equal(40);
    expect(direct.ack!.p50).to.be.greaterThan(0).and.at.most(direct.ack!.p99);
    expect(direct.delivery!.p99).to.be.at.most(direct.delivery!.max);
    for (const key of [HEADLINE_KEYS.ackP50, HEADLINE_KEYS.ackP99, HEADLINE_KEYS.deliveryP50, HEADLINE_KEYS.deliveryP99]) {
      expect(headlineValue(direct, key), key).to.be.a('number');
    }
    expect(direct.params).to.include({ pairs: 3, rate: 20, duration: 2, warmup: 1 });
    const sentInTimeline = direct.timeline.reduce((sum, p) => sum + (p.sentPerSec ?? 0), 0);
    expect(sentInTimeline).to.equal(40);
    expect(direct.timeline.some((p) => p.serverCpuPct !== undefined && p.generatorCpuPct !== undefined)).to.equal(true);
    expect(direct.percentiles.find((p) => p.percentile === 99)?.deliveryMs).to.equal(direct.delivery!.p99);
  });

  it('idle for 1 s: the embedded process\'s CPU by kind, the Troupe processes\' idle CPU and the wakeup floor', async () => {
    const result = await troupeBench(['idle', '--embedded', '--duration', '1', '--out', outDir]);
    expect(result.status, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain('server CPU by process kind over');
    expect(result.stdout).to.contain('wakeup floor of this machine');
    const run = await theRun(outDir);
    const idle = run.targets[0]!.scenarios[0]!;
    expect(idle.scenario).to.equal('idle');
    expect(idle.params).to.include({ duration: 1 });
    expect(idle.correctness.ok).to.equal(true);
    expect(idle.correctness.sent).to.equal(0);
    const cpu = idle.processCpu!;
    expect(cpu.messages).to.equal(undefined);
    expect(cpu.windowSec).to.be.within(0.9, 2);
    expect(cpu.rows.map((r) => [r.key, r.processes])).to.deep.equal([['embedded', 1], ['roles', 1]]);
    expect(headlineValue(idle, HEADLINE_KEYS.rolesIdleCpu)).to.equal(cpu.rows[1]!.cpuPct);
    const floor = idle.wakeupFloor!;
    expect(floor.gappedRoundTrips).to.be.greaterThan(0);
    expect(floor.backToBackRoundTrips).to.be.greaterThan(floor.gappedRoundTrips);
    expect(floor.gappedUsPerRoundTrip).to.be.greaterThan(0);
  });

  it('connect with 50 sockets: time to all ready, connect rate and RSS per idle socket', async () => {
    const result = await troupeBench(['connect', '--sockets', '50', '--out', outDir]);
    expect(result.status, result.stdout + result.stderr).to.equal(0);
    const run = await theRun(outDir);
    const connect = run.targets[0]!.scenarios[0]!;
    expect(connect.scenario).to.equal('connect');
    expect(connect.correctness.ok).to.equal(true);
    expect(connect.params).to.include({ sockets: 50 });
    const seconds = headlineValue(connect, HEADLINE_KEYS.timeToAllReady)!;
    expect(seconds).to.be.greaterThan(0);
    expect(headlineValue(connect, HEADLINE_KEYS.connectRate)).to.be.closeTo(50 / seconds, 0.01);
    expect(headlineValue(connect, HEADLINE_KEYS.rssPerIdleSocket)).to.be.a('number');
  });
});

describe('bench: troupe bench command-line mistakes', function () {
  this.timeout(30_000);

  for (const [args, flag] of [
    [['direct', '--rate', 'fast'], '--rate'],
    [['direct', '--bogus'], '--bogus'],
    [['direct', '--peer', 'nginx'], '--peer'],
    [['direct', '--pin-server', 'first'], '--pin-server'],
    [['direct', '--pairs'], '--pairs'],
    [['direct', '--warmup', '0'], '--warmup'],
    [['direct', '--url', 'http://127.0.0.1:1', '--server-pid', 'self'], '--server-pid'],
  ] as const) {
    it(`bench ${args.join(' ')}: exit 2 with one line naming ${flag}`, async () => {
      const result = await troupeBench([...args]);
      expect(result.status).to.equal(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines, result.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^troupe bench: /).and.to.contain(flag);
    });
  }

  it('bench with an unknown scenario: exit 2 naming the scenarios', async () => {
    const result = await troupeBench(['speed']);
    expect(result.status).to.equal(2);
    expect(result.stderr.trim()).to.match(/^troupe bench: unknown scenario "speed": give one of connect, direct, group, sync, ramp, idle, compare$/);
  });
});
