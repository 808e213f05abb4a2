/**
 * The markdown ratio table of a run: what docs/benchmarks.md and a pull request quote. The
 * machine, the command and the date first, so a figure is never read without its conditions;
 * then each scenario's headline figures per target with the Troupe / peer and Troupe / bound
 * ratios; then the issue's targets, met, missed or not measured.
 */
import { figureRows, pairRatio, ratioPairs, type FigureRow } from './figures.js';
import { formatHeadline, formatRatio, NOT_MEASURED } from './format.js';
import { cpuTable, floorLine } from './process-cpu.js';
import { commandLine, correctnessProblems, machineLine, paramsLine, pinningLine, runWhen, troupeLine } from './run-facts.js';
import { scenarioSections, type ScenarioSection } from './sections.js';
import { targetChecks } from './target-checks.js';
import type { BenchRun } from './types.js';

/** Text from the run made inert in markdown: no table breaks, no HTML, no emphasis or links. */
function md(text: string | number): string {
  return String(text)
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]<>|]/g, (ch) => `\\${ch}`);
}

/** The command as a code span fenced by more backticks than it contains. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\r?\n/g, ' ')}${pad}${fence}`;
}

function tableRow(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function figureCell(value: number | undefined, unit: FigureRow['unit']): string {
  return value === undefined ? NOT_MEASURED : formatHeadline(value, unit);
}

function sectionMarkdown(section: ScenarioSection): string[] {
  const lines = [`## ${md(section.title)}`, ''];
  const distinctParams = new Set(section.cases.map((c) => JSON.stringify(c.run.params)));
  if (distinctParams.size <= 1 && section.cases.length > 0) {
    lines.push(`Parameters: ${md(paramsLine(section.cases[0]!.run.params))}.`, '');
  } else {
    for (const c of section.cases) lines.push(`- Parameters for ${md(c.target.label)}: ${md(paramsLine(c.run.params))}.`);
    lines.push('');
  }

  const rows = figureRows(section);
  const pairs = ratioPairs(section);
  if (rows.length === 0) {
    lines.push('No headline figures.', '');
  } else {
    const head = ['figure', ...section.cases.map((c) => md(c.target.label)), ...pairs.map((p) => `${md(p.subject.target.label)} / ${md(p.other.target.label)} (${p.role})`)];
    lines.push(tableRow(head), tableRow(['---', ...head.slice(1).map(() => '---:')]));
    for (const row of rows) {
      const ratios = pairs.map((p) => {
        const ratio = pairRatio(section, row, p);
        return ratio === undefined ? NOT_MEASURED : formatRatio(ratio);
      });
      lines.push(tableRow([`${md(row.label)} (${row.better} is better)`, ...row.values.map((v) => figureCell(v, row.unit)), ...ratios]));
    }
    lines.push('');
  }

  lines.push(...serverCpuMarkdown(section));
  const failures = section.cases.filter((c) => !c.run.correctness.ok);
  if (failures.length === 0) {
    lines.push(section.cases.length === 0 ? 'No target ran this scenario.' : 'Correctness: every target ok (nothing lost, duplicated or reordered, no errors).');
  } else {
    for (const c of failures) lines.push(`- **CORRECTNESS FAILED** on ${md(c.target.label)}: ${md(correctnessProblems(c.run.correctness).join(', '))}.`);
  }
  for (const a of section.absent) lines.push(`- ${md(a.target.label)} did not run ${md(section.scenario)}: ${md(a.why)}.`);
  for (const c of section.cases) for (const note of c.run.notes ?? []) lines.push(`- Note (${md(c.target.label)}): ${md(note)}`);
  lines.push('');
  return lines;
}

/** Each target's CPU by process kind (sums in bold) with the wakeup floor under it. */
function serverCpuMarkdown(section: ScenarioSection): string[] {
  const lines: string[] = [];
  for (const c of section.cases) {
    if (c.run.processCpu !== undefined) {
      const table = cpuTable(c.run.processCpu);
      lines.push(`${md(c.target.label)}: ${md(table.caption)}.`, '', tableRow(table.head.map(md)), tableRow(['---', ...table.head.slice(1).map(() => '---:')]));
      table.rows.forEach((row, i) => lines.push(tableRow(row.map((cell, j) => (table.sums[i] && j === 0 ? `**${md(cell)}**` : md(cell))))));
      lines.push('');
    }
    if (c.run.wakeupFloor !== undefined) lines.push(`${md(c.target.label)}: ${md(floorLine(c.run.wakeupFloor, c.run.processCpu))}.`, '');
  }
  return lines;
}

function targetChecksMarkdown(run: BenchRun): string[] {
  const lines = ['## Issue targets', '', tableRow(['target', 'Troupe target', 'outcome', 'measured']), tableRow(['---', '---', '---', '---'])];
  for (const check of targetChecks(run)) {
    const outcome = check.outcome === 'met' ? 'met' : check.outcome === 'missed' ? '**missed**' : NOT_MEASURED;
    lines.push(tableRow([md(check.target), md(check.subject), outcome, md(check.detail)]));
  }
  lines.push('');
  return lines;
}

/** The whole markdown document for a run, ending in one newline. */
export function ratioTable(run: BenchRun): string {
  const lines = [
    '# Troupe benchmark: figures and ratios',
    '',
    `- Date: ${md(runWhen(run))}`,
    `- Command: ${codeSpan(commandLine(run))}`,
    `- Machine: ${md(machineLine(run))}`,
    `- Troupe: ${md(troupeLine(run))}`,
    `- CPU pinning: ${md(pinningLine(run))}`,
    `- Targets: ${run.targets.map((t) => `${md(t.label)} (${md(t.role)})`).join('; ')}`,
    '',
    'Ratios compare each Troupe target with each peer and bound and are oriented so that **above 1× means Troupe did better**:',
    'Troupe ÷ other where higher is better (rates), other ÷ Troupe where lower is better (latency, memory, time).',
    `"${NOT_MEASURED}" means the run has no such figure.`,
    '',
  ];
  for (const section of scenarioSections(run)) lines.push(...sectionMarkdown(section));
  lines.push(...targetChecksMarkdown(run));
  return `${lines.join('\n').trimEnd()}\n`;
}
