/**
 * The HTML report of a run: one file a person opens from disk, with everything inline (style,
 * SVG charts) and nothing fetched or run: no scripts, no web fonts, no links out. Rendered from
 * the BenchRun alone, so a saved run can be rendered again.
 */
import { escapeHtml } from './escape.js';
import { correctnessTable, factsBlock, failureBanner, headlineTable, sectionNotes, serverCpuBlock, targetChecksTable, targetName } from './html-parts.js';
import { REPORT_CSS } from './html-style.js';
import { targetColours } from './palette.js';
import { formatInstant } from './run-facts.js';
import { scenarioCharts } from './scenario-charts.js';
import { scenarioSections, type ScenarioSection } from './sections.js';
import { targetChecks } from './target-checks.js';
import type { BenchRun } from './types.js';

function sectionHtml(section: ScenarioSection, colours: Map<string, string>): string {
  const charts = scenarioCharts(
    section.id,
    section.cases.map((c) => ({ ...c, colour: colours.get(c.target.target) ?? '#000' })),
  );
  const chartBlock = charts.length === 0 ? '<p class="muted">No timeline, percentile or step data to plot.</p>' : `<div class="charts">${charts.map((c) => c.svg).join('')}</div>`;
  return (
    `<section id="${escapeHtml(section.id)}"><h2>${escapeHtml(section.title)}</h2>` +
    `<h3>Headline figures</h3>${headlineTable(section, colours)}` +
    serverCpuBlock(section, colours) +
    `<h3>Correctness</h3>${correctnessTable(section, colours)}` +
    sectionNotes(section, colours) +
    `<h3>Plots</h3>${chartBlock}</section>`
  );
}

/** The whole report as one HTML document. */
export function renderHtmlReport(run: BenchRun): string {
  const colours = targetColours(run);
  const sections = scenarioSections(run);
  const legend = run.targets.map((t) => `<li>${targetName(t, colours, false)} <span class="muted">(${escapeHtml(t.role)}, <code>${escapeHtml(t.target)}</code>)</span></li>`).join('');
  const toc = ['<li><a href="#targets">Issue targets</a></li>', ...sections.map((s) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a></li>`)].join('');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing may load: no scripts, and images only from inline data.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>Troupe bench, ${escapeHtml(formatInstant(run.startedAt))}</title>`,
    `<style>${REPORT_CSS}</style></head><body>`,
    `<header><h1>Troupe benchmark</h1>${factsBlock(run)}`,
    `<h3>Targets</h3><ul>${legend}</ul>`,
    `<nav><h3>Scenarios</h3><ul>${toc}</ul></nav></header>`,
    failureBanner(sections),
    // The verdicts first: what a reader came for; the figures behind them follow per scenario.
    `<section id="targets"><h2>Issue targets</h2><p>Checked where this run has the figures; a figure the run lacks is "not measured", never 0.</p>${targetChecksTable(targetChecks(run))}</section>`,
    ...sections.map((s) => sectionHtml(s, colours)),
    '</body></html>',
    '',
  ].join('\n');
}
