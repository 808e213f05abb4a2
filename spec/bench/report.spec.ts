/**
 * The reports of a `troupe bench` run, rendered from a saved three-target run
 * (spec/bench/fixtures/run.json: Troupe embedded, the Socket.IO peer, the uWS bound; connect,
 * direct, ramp and group). Expected figures are computed here from the fixture, not copied from
 * the reports, so a wrong ratio or a wrong verdict fails.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { HEADLINE_KEYS } from '../../bench/report/headline-keys.js';
import { renderHtmlReport } from '../../bench/report/html.js';
import { ratioTable } from '../../bench/report/markdown.js';
import { renderReportCommand } from '../../bench/report/render-cli.js';
import { writeRunReports } from '../../bench/report/write.js';
import type { BenchRun, Headline, ScenarioName, TargetRun, TimelinePoint } from '../../bench/report/types.js';

const FIXTURE: BenchRun = JSON.parse(readFileSync(new URL('./fixtures/run.json', import.meta.url), 'utf8')) as BenchRun;

/** A deep copy to change without touching the fixture other tests read. */
const copyRun = (): BenchRun => structuredClone(FIXTURE);

const byKey = (run: BenchRun, key: string): TargetRun => run.targets.find((t) => t.target === key)!;

function figureOf(target: TargetRun, scenario: ScenarioName, key: string): Headline | undefined {
  return target.scenarios.find((s) => s.scenario === scenario)?.headline.find((h) => h.key === key);
}

/** The markdown section under `## <title>`, up to the next heading. */
function mdSection(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  expect(start, `section ${title}`).to.be.greaterThan(-1);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

/** The cells of the table row whose first cell starts with `first`. */
function mdRow(section: string, first: string): string[] {
  const line = section.split('\n').find((l) => l.startsWith(`| ${first}`));
  expect(line, `row ${first}`).to.be.a('string');
  return line!.slice(2, -2).split(' | ');
}

/** The label as the markdown writes it (its escapes). */
const mdText = (text: string): string => text.replace(/[\\`*_[\]<>|]/g, (ch) => `\\${ch}`);

/** A ratio cell read back, with the rounding it was printed with. */
function parseRatio(cell: string): { value: number; tolerance: number } {
  const match = /^(\d+(?:\.(\d+))?)×$/.exec(cell);
  expect(match, `ratio cell ${cell}`).to.not.equal(null);
  const decimals = match![2]?.length ?? 0;
  return { value: Number(match![1]), tolerance: 0.5 * 10 ** -decimals + 1e-9 };
}

/** The HTML of one scenario's section. */
function htmlSection(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  expect(start, `section ${id}`).to.be.greaterThan(-1);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('bench reports', () => {
  describe('HTML report', () => {
    const html = renderHtmlReport(FIXTURE);

    it('is one self-contained document: no scripts, no external links, sources, styles or fonts', () => {
      expect(html.startsWith('<!DOCTYPE html>')).to.equal(true);
      expect(html).to.not.match(/<script/i);
      expect(html).to.not.match(/<link/i);
      expect(html).to.not.match(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
      expect(html).to.not.match(/@import|url\(|@font-face/i);
      expect(html).to.contain('<style>');
    });

    it('shows the date, the command, the machine, the commit and the pinning', () => {
      expect(html).to.contain('2026-12-07 09:12:04 UTC');
      expect(html).to.contain(`troupe bench ${FIXTURE.command}`);
      expect(html).to.contain(FIXTURE.machine.cpuModel);
      expect(html).to.contain(`commit ${FIXTURE.machine.commit!}`);
      expect(html).to.contain(`server on CPUs ${FIXTURE.pinning!.server!}`);
    });

    it('draws one SVG per plot: each plot whose figures some target measured, once', () => {
      const timelineFields: Array<[string, Array<keyof TimelinePoint>]> = [
        ['ack-latency', ['ackP50', 'ackP99']],
        ['delivery-latency', ['deliveryP50', 'deliveryP99']],
        ['throughput', ['sentPerSec', 'ackedPerSec', 'deliveredPerSec']],
        ['ready', ['readySockets']],
        ['cpu', ['serverCpuPct', 'generatorCpuPct']],
        ['rss', ['serverRssBytes']],
      ];
      const expected: string[] = [];
      for (const scenario of ['connect', 'direct', 'ramp', 'group'] as const) {
        const runs = FIXTURE.targets.flatMap((t) => t.scenarios.filter((s) => s.scenario === scenario));
        for (const [kind, fields] of timelineFields) {
          if (runs.some((r) => r.timeline.some((p) => fields.some((f) => p[f] !== undefined)))) expected.push(`${scenario}-${kind}`);
        }
        if (runs.some((r) => r.percentiles.length > 0)) expected.push(`${scenario}-percentiles`);
        if (runs.some((r) => (r.steps ?? []).length > 0)) expected.push(`${scenario}-ramp-rate`, `${scenario}-ramp-p99`);
      }
      const drawn = [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]!);
      expect([...drawn].sort()).to.deep.equal([...expected].sort());
      expect(html.match(/<svg\b/g)?.length).to.equal(expected.length);
      expect(expected).to.include.members(['direct-percentiles', 'ramp-ramp-p99', 'connect-ready', 'group-rss']);
    });

    it('gives each target one colour in every chart, and different targets different colours', () => {
      const colourOf = new Map<string, Set<string>>();
      for (const m of html.matchAll(/<path d="[^"]*" fill="none" stroke="(#[0-9A-Fa-f]{6})"[^>]*><title>([^<]*?): [^<]*<\/title>/g)) {
        const set = colourOf.get(m[2]!) ?? new Set<string>();
        set.add(m[1]!);
        colourOf.set(m[2]!, set);
      }
      expect([...colourOf.keys()].sort()).to.deep.equal(FIXTURE.targets.map((t) => t.label).sort());
      for (const [label, colours] of colourOf) expect(colours.size, label).to.equal(1);
      const distinct = new Set([...colourOf.values()].map((s) => [...s][0]));
      expect(distinct.size).to.equal(FIXTURE.targets.length);
    });

    it('flags a failed correctness check in red where it failed, and nowhere else', () => {
      const group = htmlSection(html, 'group');
      expect(group).to.contain('class="banner"');
      expect(group).to.match(/<tr class="failed">.*Socket\.IO 4/);
      expect(group).to.contain(`errors 12`);
      expect(htmlSection(html, 'direct')).to.not.contain('flag-bad');
      expect(html.indexOf('Correctness failed')).to.be.lessThan(html.indexOf('<section id="connect">'));
    });

    it('shows a hostile label, command and note as text, never as markup', () => {
      const run = copyRun();
      run.targets[1]!.label = '<script>alert(1)</script>';
      run.command = 'compare "><img src=x onerror=alert(2)>';
      run.targets[0]!.scenarios[0]!.notes = ['<b onmouseover=alert(3)>bold</b>'];
      const hostile = renderHtmlReport(run);
      expect(hostile).to.not.match(/<script|<img|<b /i);
      expect(hostile).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(hostile).to.contain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
      const markdown = ratioTable(run);
      expect(markdown).to.not.match(/(?<!\\)<script/);
      expect(markdown).to.contain('\\<script\\>alert(1)\\</script\\>');
    });
  });

  describe('markdown ratio table', () => {
    const markdown = ratioTable(FIXTURE);
    const [subject, peer, bound] = [byKey(FIXTURE, 'embedded'), byKey(FIXTURE, 'socketio'), byKey(FIXTURE, 'uws')];

    it('starts with the machine, the command and the date, and says which way the ratios point', () => {
      const head = markdown.slice(0, markdown.indexOf('\n## '));
      expect(head).to.contain(`Command: \`troupe bench ${FIXTURE.command}\``);
      expect(head).to.contain(FIXTURE.machine.cpuModel);
      expect(head).to.contain(`${FIXTURE.machine.cores} cores`);
      expect(head).to.contain('2026-12-07 09:12:04 UTC');
      expect(head).to.contain('above 1× means Troupe did better');
      const whole = copyRun();
      whole.command = 'troupe bench direct --rate 300';
      expect(ratioTable(whole)).to.contain('Command: `troupe bench direct --rate 300`\n');
    });

    it('has a row per headline figure with Troupe/peer and Troupe/bound ratios oriented so above 1 is Troupe better', () => {
      let checked = 0;
      for (const scenario of ['connect', 'direct', 'ramp', 'group'] as const) {
        const section = mdSection(markdown, scenario);
        for (const h of subject.scenarios.find((s) => s.scenario === scenario)!.headline) {
          const cells = mdRow(section, `${mdText(h.label)} (`);
          const others = [peer, bound].filter((t) => t.scenarios.some((s) => s.scenario === scenario));
          expect(cells.length).to.equal(1 + 1 + others.length + others.length);
          others.forEach((other, i) => {
            const theirs = figureOf(other, scenario, h.key)!.value;
            const expected = h.better === 'higher' ? h.value / theirs : theirs / h.value;
            const printed = parseRatio(cells[cells.length - others.length + i]!);
            expect(Math.abs(printed.value - expected), `${scenario} ${h.key} vs ${other.target}`).to.be.at.most(printed.tolerance);
            checked += 1;
          });
        }
      }
      // connect 3 figures × 2 others, direct 4 × 2, ramp 1 × 2, group 4 × 1 (the bound skipped it).
      expect(checked).to.equal(20);
      // Two read by hand: a rate (higher is better) and a memory cost (lower is better).
      expect(mdRow(mdSection(markdown, 'ramp'), 'highest rate').slice(-2)).to.deep.equal(['9.82×', '0.26×']);
      expect(mdRow(mdSection(markdown, 'connect'), 'server RSS per idle socket').slice(-2)).to.deep.equal(['6.74×', '0.49×']);
    });

    it('checks the issue targets: met, missed by how much, or not measured, as the fixture says', () => {
      const checks = mdSection(markdown, 'Issue targets');
      const outcome = (start: string): string[] => mdRow(checks, start);
      const rate = figureOf(subject, 'ramp', HEADLINE_KEYS.maxRateP99Under50ms)!.value;
      const peerRate = figureOf(peer, 'ramp', HEADLINE_KEYS.maxRateP99Under50ms)!.value;
      const boundRate = figureOf(bound, 'ramp', HEADLINE_KEYS.maxRateP99Under50ms)!.value;
      const rss = figureOf(subject, 'connect', HEADLINE_KEYS.rssPerIdleSocket)!.value;
      const p99 = figureOf(subject, 'direct', HEADLINE_KEYS.deliveryP99)!.value;
      const peerP99 = figureOf(peer, 'direct', HEADLINE_KEYS.deliveryP99)!.value;
      const groupP99 = figureOf(subject, 'group', HEADLINE_KEYS.deliveryP99)!.value;
      // The fixture is built to exercise every outcome.
      expect(rate).to.be.below(10 * peerRate);
      expect(rate).to.be.at.least(0.25 * boundRate);
      expect(rss).to.be.above(2048);

      const vsPeer = outcome('direct: highest rate with p99 delivery \\< 50 ms at least 10×');
      expect(vsPeer[2]).to.equal('**missed**');
      expect(vsPeer[3]).to.contain(`missed by ${(10 * peerRate - rate).toLocaleString('en-US')} msgs/s`);
      expect(outcome('direct: highest rate with p99 delivery \\< 50 ms at least 25%')[2]).to.equal('met');
      expect(outcome('direct at 300 msgs/s')[2]).to.equal(p99 < peerP99 ? 'met' : '**missed**');
      const idle = outcome('server RSS per idle authenticated socket');
      expect(idle[2]).to.equal('**missed**');
      expect(idle[3]).to.contain(`missed by ${rss - 2048} B`);
      expect(outcome('19,000 sockets')[2]).to.equal('not measured');
      expect(outcome('19,000 sockets')[3]).to.contain('10,000 sockets');
      expect(outcome('memory per active conversation')[2]).to.equal('not measured');
      expect(outcome('group of 5,000 online')[2]).to.equal(groupP99 < 1000 ? 'met' : '**missed**');
    });

    it('judges memory per conversation against 16 KB when the run has it', () => {
      const run = copyRun();
      const direct = byKey(run, 'embedded').scenarios.find((s) => s.scenario === 'direct')!;
      direct.headline.push({ key: HEADLINE_KEYS.memoryPerConversation, label: 'memory per active conversation', value: 20_000, unit: 'bytes', better: 'lower' });
      const missed = mdRow(mdSection(ratioTable(run), 'Issue targets'), 'memory per active conversation');
      expect(missed[2]).to.equal('**missed**');
      expect(missed[3]).to.contain(`missed by ${(20_000 - 16_384).toLocaleString('en-US')} B`);
      direct.headline[direct.headline.length - 1]!.value = 12_000;
      expect(mdRow(mdSection(ratioTable(run), 'Issue targets'), 'memory per active conversation')[2]).to.equal('met');
    });

    it('shows a figure the run lacks as "not measured", never as 0, in the table, the ratios and the checks', () => {
      const run = copyRun();
      const direct = byKey(run, 'embedded').scenarios.find((s) => s.scenario === 'direct')!;
      direct.headline = direct.headline.filter((h) => h.key !== HEADLINE_KEYS.deliveryP99);
      const markdown2 = ratioTable(run);
      const row = mdRow(mdSection(markdown2, 'direct'), 'delivery p99');
      expect(row[1]).to.equal('not measured');
      expect(row.slice(-2)).to.deep.equal(['not measured', 'not measured']);
      expect(row.join(' ')).to.not.match(/(^|\s)0(\s|×|$)/);
      expect(mdRow(mdSection(markdown2, 'Issue targets'), 'direct at 300 msgs/s')[2]).to.equal('not measured');
      const html = renderHtmlReport(run);
      expect(htmlSection(html, 'direct')).to.match(/<td class="missing">not measured<\/td>/);
    });

    it('says which target did not run a scenario and why, and leaves it out of that table', () => {
      const group = mdSection(markdown, 'group');
      const header = group.split('\n').find((l) => l.startsWith('| figure'))!;
      expect(header).to.not.contain(mdText(bound.label));
      expect(group).to.contain(`${mdText(bound.label)} did not run group: ${mdText(bound.skipped![0]!.why)}`);
      expect(group).to.contain('**CORRECTNESS FAILED**');
    });
  });

  describe('writing and re-rendering', () => {
    let dir: string | undefined;
    let stderr: string[] = [];
    let restoreStreams: (() => void) | undefined;

    /** Captures what the command prints (restored after each test). */
    function captureStreams(): void {
      stderr = [];
      const realErr = process.stderr.write.bind(process.stderr);
      const realOut = process.stdout.write.bind(process.stdout);
      process.stderr.write = ((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
      process.stdout.write = (() => true) as typeof process.stdout.write;
      restoreStreams = () => {
        process.stderr.write = realErr;
        process.stdout.write = realOut;
      };
    }

    afterEach(async () => {
      restoreStreams?.();
      restoreStreams = undefined;
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it('writeRunReports writes the run, the HTML and the markdown, named after the run start', async () => {
      dir = await mkdtemp(join(tmpdir(), 'troupe-bench-report-'));
      const out = join(dir, 'nested', 'out');
      const paths = await writeRunReports(FIXTURE, out);
      expect((await readdir(out)).sort()).to.deep.equal(['bench-2026-12-07T09-12-04Z.html', 'bench-2026-12-07T09-12-04Z.json', 'bench-2026-12-07T09-12-04Z.md']);
      expect(JSON.parse(await readFile(paths.json, 'utf8'))).to.deep.equal(FIXTURE);
      expect(await readFile(paths.html, 'utf8')).to.equal(renderHtmlReport(FIXTURE));
      expect(await readFile(paths.markdown, 'utf8')).to.equal(ratioTable(FIXTURE));
    });

    it('troupe bench report renders a saved run again into --out', async () => {
      dir = await mkdtemp(join(tmpdir(), 'troupe-bench-rerender-'));
      const saved = join(dir, 'saved.json');
      await writeFile(saved, JSON.stringify(FIXTURE));
      captureStreams();
      const status = await renderReportCommand([saved, '--out', join(dir, 'again')]);
      restoreStreams!();
      expect(status, stderr.join('')).to.equal(0);
      expect((await readdir(join(dir, 'again'))).length).to.equal(3);
    });

    it('troupe bench report exits 2 with one line naming a missing file', async () => {
      captureStreams();
      const status = await renderReportCommand(['/nonexistent/troupe-run.json']);
      restoreStreams!();
      expect(status).to.equal(2);
      expect(stderr.join('')).to.equal('troupe bench report: cannot read /nonexistent/troupe-run.json: no such file\n');
    });

    it('troupe bench report exits 2 with the problem and the usage on bad arguments', async () => {
      captureStreams();
      const status = await renderReportCommand(['--bogus']);
      restoreStreams!();
      expect(status).to.equal(2);
      const lines = stderr.join('').trimEnd().split('\n');
      expect(lines).to.deep.equal(['troupe bench report: unknown option --bogus', 'usage: troupe bench report <run.json> [--out DIR]']);
    });

    it('troupe bench report exits 2 with one line for a file that is not a run', async () => {
      dir = await mkdtemp(join(tmpdir(), 'troupe-bench-notrun-'));
      const other = join(dir, 'other.json');
      await writeFile(other, JSON.stringify({ schema: 2, targets: [] }));
      captureStreams();
      const status = await renderReportCommand([other]);
      restoreStreams!();
      expect(status).to.equal(2);
      expect(stderr.join('')).to.equal(`troupe bench report: ${other}: not a bench run of schema 1 (schema is 2)\n`);
      expect(await readdir(dir)).to.deep.equal(['other.json']);
    });
  });
});
