/**
 * The non-chart blocks of the HTML report: the run's facts, the headline table with ratios,
 * the correctness table (a failed check is flagged red, never folded away) and the issue's
 * targets. Every string that comes from the run goes through escapeHtml.
 */
import { escapeHtml } from './escape.js';
import { figureRows, pairRatio, ratioPairs } from './figures.js';
import { formatHeadline, formatNumber, formatRatio, NOT_MEASURED } from './format.js';
import { cpuTable, floorLine } from './process-cpu.js';
import { commandLine, correctnessProblems, machineLine, paramsLine, pinningLine, runWhen, troupeLine } from './run-facts.js';
import type { ScenarioSection, SectionCase } from './sections.js';
import type { TargetCheck } from './target-checks.js';
import type { BenchRun, TargetRun } from './types.js';

/** A target's name with its colour swatch and role, as a column head or row label. */
export function targetName(target: TargetRun, colours: Map<string, string>, withRole = true): string {
  const swatch = `<span class="swatch" style="background:${colours.get(target.target) ?? '#000'}"></span>`;
  return `${swatch}${escapeHtml(target.label)}${withRole ? `<span class="role">${escapeHtml(target.role)}</span>` : ''}`;
}

export function factsBlock(run: BenchRun): string {
  const rows: Array<[string, string]> = [
    ['Date', escapeHtml(runWhen(run))],
    ['Command', `<code>${escapeHtml(commandLine(run))}</code>`],
    ['Machine', escapeHtml(machineLine(run))],
    ['Troupe', escapeHtml(troupeLine(run))],
    ['CPU pinning', escapeHtml(pinningLine(run))],
  ];
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** Every scenario whose correctness failed, at the top of the page. */
export function failureBanner(sections: ScenarioSection[]): string {
  const failed = sections.flatMap((s) => s.cases.filter((c) => !c.run.correctness.ok).map((c) => ({ s, c })));
  if (failed.length === 0) return '';
  const items = failed.map(({ s, c }) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a> on ${escapeHtml(c.target.label)}: ${escapeHtml(correctnessProblems(c.run.correctness).join(', '))}</li>`);
  return `<div class="banner" role="alert">Correctness failed: the figures of these runs are not trustworthy as they stand.<ul>${items.join('')}</ul></div>`;
}

export function headlineTable(section: ScenarioSection, colours: Map<string, string>): string {
  const rows = figureRows(section);
  if (rows.length === 0) return '<p class="muted">No headline figures.</p>';
  const pairs = ratioPairs(section);
  const head = [
    '<th>figure</th>',
    ...section.cases.map((c) => `<th>${targetName(c.target, colours)}</th>`),
    ...pairs.map((p) => `<th>${escapeHtml(p.subject.target.label)} / ${escapeHtml(p.role)}<span class="role">${escapeHtml(p.other.target.label)}</span></th>`),
  ];
  const body = rows.map((row) => {
    const values = row.values.map((v) => (v === undefined ? `<td class="missing">${NOT_MEASURED}</td>` : `<td>${escapeHtml(formatHeadline(v, row.unit))}</td>`));
    const ratios = pairs.map((p) => {
      const ratio = pairRatio(section, row, p);
      if (ratio === undefined) return `<td class="missing">${NOT_MEASURED}</td>`;
      // Green or red against a peer; a bound is there to be below, so its ratio stays neutral.
      const cls = p.role !== 'peer' || ratio === 1 ? '' : ratio > 1 ? ' class="better"' : ' class="worse"';
      return `<td${cls}>${escapeHtml(formatRatio(ratio))}</td>`;
    });
    return `<tr><td>${escapeHtml(row.label)} <span class="muted">(${row.better === 'higher' ? 'higher' : 'lower'} is better)</span></td>${values.join('')}${ratios.join('')}</tr>`;
  });
  const note = pairs.length === 0 ? '' : '<p class="muted">Ratios above 1× mean Troupe did better (Troupe ÷ other where higher is better, other ÷ Troupe where lower is better).</p>';
  return `<table class="headline"><thead><tr>${head.join('')}</tr></thead><tbody>${body.join('')}</tbody></table>${note}`;
}

function correctnessRow(c: SectionCase, colours: Map<string, string>): string {
  const k = c.run.correctness;
  const count = (n: number, bad: boolean): string => `<td${bad ? ' class="flag-bad"' : ''}>${formatNumber(n)}</td>`;
  const status = k.ok ? '<td class="flag-ok">ok</td>' : `<td class="flag-bad">FAILED: ${escapeHtml(correctnessProblems(k).join(', '))}</td>`;
  return (
    `<tr${k.ok ? '' : ' class="failed"'}><td>${targetName(c.target, colours, false)}</td>` +
    count(k.sent, false) +
    count(k.acked, k.acked < k.sent) +
    `<td${k.delivered < k.expectedDeliveries ? ' class="flag-bad"' : ''}>${formatNumber(k.delivered)} / ${formatNumber(k.expectedDeliveries)}</td>` +
    count(k.lost, k.lost > 0) +
    count(k.duplicated, k.duplicated > 0) +
    count(k.reordered, k.reordered > 0) +
    count(k.errors, k.errors > 0) +
    count(k.unexpectedCloses, k.unexpectedCloses > 0) +
    `${status}</tr>`
  );
}

export function correctnessTable(section: ScenarioSection, colours: Map<string, string>): string {
  const failed = section.cases.filter((c) => !c.run.correctness.ok);
  const banner = failed.length === 0 ? '' : `<div class="banner" role="alert">Correctness failed on ${failed.map((c) => escapeHtml(c.target.label)).join(', ')}.</div>`;
  const head = ['target', 'sent', 'acked', 'delivered / expected', 'lost', 'duplicated', 'reordered', 'errors', 'unexpected closes', 'status'];
  return `${banner}<table class="correctness"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${section.cases.map((c) => correctnessRow(c, colours)).join('')}</tbody></table>`;
}

/** Parameters, notes and the targets that did not run the scenario. */
export function sectionNotes(section: ScenarioSection, colours: Map<string, string>): string {
  const same = new Set(section.cases.map((c) => JSON.stringify(c.run.params))).size <= 1;
  const items =
    same && section.cases.length > 0
      ? [`<li>every target: ${escapeHtml(paramsLine(section.cases[0]!.run.params))}</li>`]
      : section.cases.map((c) => `<li>${targetName(c.target, colours, false)}: ${escapeHtml(paramsLine(c.run.params))}</li>`);
  const notes = section.cases.flatMap((c) => (c.run.notes ?? []).map((n) => `<li>${escapeHtml(c.target.label)}: ${escapeHtml(n)}</li>`));
  const absent = section.absent.map((a) => `<li>${targetName(a.target, colours, false)} did not run ${escapeHtml(section.scenario)}: ${escapeHtml(a.why)}</li>`);
  return (
    `<h3>Parameters</h3><ul>${items.join('')}</ul>` +
    (notes.length > 0 ? `<h3>Notes</h3><ul>${notes.join('')}</ul>` : '') +
    (absent.length > 0 ? `<h3>Not run</h3><ul>${absent.join('')}</ul>` : '')
  );
}

/** Each target's CPU by process kind (sums set apart) with the wakeup floor under it; empty when no target has them. */
export function serverCpuBlock(section: ScenarioSection, colours: Map<string, string>): string {
  const parts: string[] = [];
  for (const c of section.cases) {
    if (c.run.processCpu !== undefined) {
      const table = cpuTable(c.run.processCpu);
      const rows = table.rows.map((row, i) => `<tr${table.sums[i] ? ' class="sum"' : ''}>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`);
      parts.push(
        `<p>${targetName(c.target, colours, false)}: ${escapeHtml(table.caption)}</p>` +
          `<table class="cpu-kinds"><thead><tr>${table.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`,
      );
    }
    if (c.run.wakeupFloor !== undefined) parts.push(`<p class="floor">${escapeHtml(c.target.label)}: ${escapeHtml(floorLine(c.run.wakeupFloor, c.run.processCpu))}</p>`);
  }
  return parts.length === 0 ? '' : `<h3>Server CPU by process kind</h3>${parts.join('')}`;
}

export function targetChecksTable(checks: TargetCheck[]): string {
  const rows = checks.map((c) => {
    const cls = c.outcome === 'met' ? 'outcome-met' : c.outcome === 'missed' ? 'outcome-missed' : 'outcome-not-measured';
    return `<tr><td>${escapeHtml(c.target)}</td><td>${escapeHtml(c.subject)}</td><td class="${cls}">${escapeHtml(c.outcome)}</td><td>${escapeHtml(c.detail)}</td></tr>`;
  });
  return `<table class="checks"><thead><tr><th>target</th><th>Troupe target</th><th>outcome</th><th>measured</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
