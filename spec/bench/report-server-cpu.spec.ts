/**
 * The server's CPU by process kind and the wakeup floor in the reports (text summary, markdown,
 * HTML), and issue 10's target checks on a cluster target: the saved three-target fixture with a
 * cluster target added whose idle and direct runs carry figures made by cpuByKind itself.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { cpuByKind, type CpuReading, type KindedProcess } from '../../bench/lib/process-cpu.js';
import { runSummary } from '../../bench/lib/summary.js';
import { formatNumber } from '../../bench/report/format.js';
import { HEADLINE_KEYS, headline } from '../../bench/report/headline-keys.js';
import { renderHtmlReport } from '../../bench/report/html.js';
import { ratioTable } from '../../bench/report/markdown.js';
import { targetChecks, type TargetCheck } from '../../bench/report/target-checks.js';
import type { BenchRun, ProcessCpu, ScenarioRun, TargetRun, WakeupFloor } from '../../bench/report/types.js';

const FIXTURE: BenchRun = JSON.parse(readFileSync(new URL('./fixtures/run.json', import.meta.url), 'utf8')) as BenchRun;
const CLUSTER_LABEL = 'Troupe local cluster (2 gateways, 2 logic, 2 repo, 1 task)';

const PROCESSES: KindedProcess[] = [
  { pid: 1, kind: 'gateway' }, { pid: 2, kind: 'gateway' }, { pid: 3, kind: 'logic' }, { pid: 4, kind: 'logic' },
  { pid: 5, kind: 'repo' }, { pid: 6, kind: 'repo' }, { pid: 7, kind: 'task' },
  { pid: 8, kind: 'mariadb' }, { pid: 9, kind: 'redis' }, { pid: 10, kind: 'etcd' }, { pid: 11, kind: 'kafka-mock' },
];

/** A window of `seconds` in which process i spent spent[i - 1] ms. */
function windowOf(seconds: number, spent: number[], messages?: number): ProcessCpu {
  const start: CpuReading = { at: 0, millis: new Map(PROCESSES.map((p) => [p.pid, 1000])) };
  const end: CpuReading = { at: seconds * 1000, millis: new Map(PROCESSES.map((p, i) => [p.pid, 1000 + spent[i]!])) };
  return cpuByKind(PROCESSES, start, end, messages);
}

const FLOOR: WakeupFloor = { gapMs: 5, gappedRoundTrips: 280, gappedUsPerRoundTrip: 400, backToBackRoundTrips: 25_000, backToBackUsPerRoundTrip: 30 };
const ok = { sent: 0, acked: 0, delivered: 0, expectedDeliveries: 0, lost: 0, duplicated: 0, reordered: 0, errors: 0, unexpectedCloses: 0, ok: true };

/** Idle: roles spent `rolesMs` over 20 s (spread over the seven), services 900 ms. */
function idleRun(rolesMs: number): ScenarioRun {
  const share = rolesMs / 7;
  const cpu = windowOf(20, [share, share, share, share, share, share, share, 300, 200, 100, 300]);
  const roles = cpu.rows.find((r) => r.key === 'roles')!;
  return {
    scenario: 'idle', params: { duration: 20, settle: 2 }, headline: [headline(HEADLINE_KEYS.rolesIdleCpu, roles.cpuPct)],
    timeline: [], percentiles: [], correctness: { ...ok }, processCpu: cpu, wakeupFloor: FLOOR,
  };
}

/** Direct at `rate` for 10 s: every role process spent `perProcessMs`, the busiest gateway 1.5× that. */
function directRun(rate: number, perProcessMs: number, ackP99: number): ScenarioRun {
  const messages = rate * 10;
  const p = perProcessMs;
  const cpu = windowOf(10, [p, 1.5 * p, p, p, p, p, p, 2000, 300, 100, 1500], messages);
  const roles = cpu.rows.find((r) => r.key === 'roles')!;
  return {
    scenario: 'direct', params: { pairs: 200, rate, duration: 10 },
    headline: [headline(HEADLINE_KEYS.ackP99, ackP99), headline(HEADLINE_KEYS.rolesCpuPerMessage, roles.msPerMessage!)],
    timeline: [], percentiles: [], correctness: { ...ok, sent: messages, acked: messages, delivered: messages, expectedDeliveries: messages },
    processCpu: cpu, wakeupFloor: FLOOR,
  };
}

function runWith(scenarios: ScenarioRun[]): BenchRun {
  const run = structuredClone(FIXTURE);
  const cluster: TargetRun = { target: 'cluster', label: CLUSTER_LABEL, role: 'subject', scenarios };
  run.targets.push(cluster);
  return run;
}

function clusterCheck(run: BenchRun, start: string): TargetCheck {
  const check = targetChecks(run).find((c) => c.subject === CLUSTER_LABEL && c.target.startsWith(start));
  expect(check, start).to.not.equal(undefined);
  return check!;
}

describe('bench reports: server CPU by process kind, the wakeup floor and issue 10 targets', () => {
  // 7 role processes × 100 ms over 20 s: 3.5 % of a core. Direct at 300 msgs/s: 7.5 × 200 ms / 3000 = 0.5 ms.
  const run = runWith([idleRun(700), directRun(300, 200, 80)]);
  const direct = run.targets.at(-1)!.scenarios[1]!;
  const rolesPerMessage = direct.processCpu!.rows.find((r) => r.key === 'roles')!.msPerMessage!;

  it('prints each kind, the busiest gateway and the sums in the text summary, with the floor beside them', () => {
    const text = runSummary(run);
    expect(text).to.contain('server CPU by process kind over 20 s with no load');
    expect(text).to.contain('server CPU by process kind over the 10 s measured window, 3,000 messages sent in it');
    const header = text.split('\n').find((l) => l.trim().startsWith('process kind') && l.includes('ms of CPU per message'))!;
    expect(header).to.be.a('string');
    const busiest = text.split('\n').find((l) => l.trim().startsWith('busiest gateway') && l.trim().endsWith(formatNumber(300 / 3000)));
    expect(busiest, 'busiest gateway row of direct').to.be.a('string');
    // The columns line up: every row of the table as wide as its header.
    const table = text.split('\n').slice(text.split('\n').indexOf(header), text.split('\n').indexOf(header) + 1 + direct.processCpu!.rows.length);
    expect(new Set(table.map((l) => l.length)).size, table.join('\n')).to.equal(1);
    expect(text).to.contain(`400 µs of CPU per round trip together with 5 ms between round trips`);
    expect(text).to.contain(`the Troupe processes' ${formatNumber(rolesPerMessage)} ms per message is the CPU of ${formatNumber((rolesPerMessage * 1000) / 400)} gapped round trips`);
    // The issue targets the run could judge close the summary; those it could not are left to the reports.
    const judged = text.slice(text.indexOf('Issue targets this run has the figures for'));
    expect(judged).to.contain(`met     idle cluster: Troupe processes together under 5% of a core (${CLUSTER_LABEL}): 3.5%`);
    expect(judged).to.contain('met     nothing lost');
    expect(judged).to.not.contain('not measured');
  });

  it('puts one table per target in the markdown, sums in bold, per-message figures only where messages were sent', () => {
    const markdown = ratioTable(run);
    const idle = markdown.slice(markdown.indexOf('\n## idle\n'), markdown.indexOf('\n## ', markdown.indexOf('\n## idle\n') + 1));
    expect(idle).to.contain('| process kind | processes | % of one core |\n');
    expect(idle).to.contain(`| **Troupe processes together** | 7 | ${formatNumber(3.5)} |`);
    expect(idle).to.contain(`| Kafka mock | 1 | ${formatNumber(1.5)} |`);
    expect(idle).to.contain('| **services together** | 4 | 4.5 |');
    const directMd = markdown.slice(markdown.indexOf('\n## direct\n'), markdown.indexOf('\n## ', markdown.indexOf('\n## direct\n') + 1));
    expect(directMd).to.contain('| process kind | processes | % of one core | ms of CPU per message |');
    expect(directMd).to.contain(`| gateway | 2 | ${formatNumber(5)} | ${formatNumber(500 / 3000)} |`);
    expect(directMd).to.contain(`| **Troupe processes together** | 7 | ${formatNumber(15)} | ${formatNumber(rolesPerMessage)} |`);
    expect(directMd).to.contain(`| **every server process** | 11 | `);
    expect(directMd).to.contain('wakeup floor of this machine');
    // The embedded target of the fixture has no such figures: no table for it.
    expect(directMd).to.not.contain('Troupe embedded: server CPU by process kind');
  });

  it('shows the table and the floor in the HTML section, escaped, with the sums set apart', () => {
    const html = renderHtmlReport(run);
    const section = html.slice(html.indexOf('<section id="direct">'), html.indexOf('</section>', html.indexOf('<section id="direct">')));
    expect(section).to.contain('<h3>Server CPU by process kind</h3>');
    expect(section).to.contain('<table class="cpu-kinds">');
    expect(section).to.contain('from /proc/&lt;pid&gt;/stat');
    expect(section).to.match(/<tr class="sum"><td>Troupe processes together<\/td><td>7<\/td>/);
    expect(section).to.contain('<p class="floor">');
    expect(html.slice(html.indexOf('<section id="connect">'), html.indexOf('</section>', html.indexOf('<section id="connect">')))).to.not.contain('cpu-kinds');
  });

  it('checks issue 10 on the cluster: idle under 5 %, under 1 ms per message and ack p99 under 100 ms at 300 msgs/s, nothing lost', () => {
    expect(clusterCheck(run, 'idle cluster').outcome).to.equal('met');
    expect(clusterCheck(run, 'idle cluster').detail).to.contain('3.5%');
    expect(clusterCheck(run, 'cluster, direct at 300 msgs/s: Troupe processes').outcome).to.equal('met');
    expect(clusterCheck(run, 'cluster, direct at 300 msgs/s: ack p99').outcome).to.equal('met');
    expect(clusterCheck(run, 'nothing lost').outcome).to.equal('met');
    expect(clusterCheck(run, 'nothing lost').detail).to.contain('3,000 messages over direct');
    // Issue 10's checks are the cluster's: none for the embedded target.
    expect(targetChecks(run).filter((c) => c.subject === 'Troupe embedded' && c.target.includes('cluster'))).to.deep.equal([]);
    expect(targetChecks(FIXTURE).some((c) => c.target.startsWith('nothing lost'))).to.equal(false);
  });

  it('says by how much a cluster target is missed, and what is missing when it is not measured', () => {
    const lost = directRun(300, 600, 250);
    lost.correctness = { ...lost.correctness, lost: 2, ok: false };
    const missed = runWith([idleRun(1400), lost]);
    expect(clusterCheck(missed, 'idle cluster').outcome).to.equal('missed');
    expect(clusterCheck(missed, 'idle cluster').detail).to.contain('missed by 2%');
    const perMessage = clusterCheck(missed, 'cluster, direct at 300 msgs/s: Troupe processes');
    expect(perMessage.outcome).to.equal('missed');
    expect(perMessage.detail).to.contain(`missed by ${formatNumber((7.5 * 600) / 3000 - 1)} ms`);
    expect(clusterCheck(missed, 'cluster, direct at 300 msgs/s: ack p99').detail).to.contain('missed by 150 ms');
    expect(clusterCheck(missed, 'nothing lost').outcome).to.equal('missed');
    expect(clusterCheck(missed, 'nothing lost').detail).to.contain('direct: lost 2');

    const slow = runWith([directRun(150, 200, 80)]);
    for (const start of ['idle cluster', 'cluster, direct at 300 msgs/s: Troupe processes', 'cluster, direct at 300 msgs/s: ack p99']) {
      expect(clusterCheck(slow, start).outcome, start).to.equal('not measured');
    }
    expect(clusterCheck(slow, 'idle cluster').detail).to.contain('no roles_idle_cpu from idle');
    expect(clusterCheck(slow, 'cluster, direct at 300 msgs/s: ack p99').detail).to.contain('ran direct at 150 msgs/s, with no ack_p99 at 300 msgs/s');
    expect(clusterCheck(runWith([idleRun(700)]), 'nothing lost').outcome).to.equal('not measured');
  });
});
