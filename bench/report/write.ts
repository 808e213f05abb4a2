/**
 * Writes a run and its two reports side by side, named after the run's start so runs sort by
 * time and a report can always be traced to the JSON it came from.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtmlReport } from './html.js';
import { ratioTable } from './markdown.js';
import type { BenchRun } from './types.js';

export interface RunReportPaths {
  json: string;
  html: string;
  markdown: string;
}

/** `bench-2026-12-07T09-12-04Z`: the start to the second, safe in any file system. */
export function runStamp(run: BenchRun): string {
  const start = new Date(run.startedAt);
  const iso = Number.isNaN(start.getTime()) ? run.startedAt : start.toISOString().slice(0, 19) + 'Z';
  return `bench-${iso.replace(/[^0-9A-Za-z]+/g, '-')}`;
}

/** Writes <outDir>/<stamp>.json, .html and .md (creating outDir) and returns their paths. */
export async function writeRunReports(run: BenchRun, outDir: string): Promise<RunReportPaths> {
  // Render before writing anything, so a run the reports cannot render leaves no half set of files.
  const html = renderHtmlReport(run);
  const markdown = ratioTable(run);
  await mkdir(outDir, { recursive: true });
  const base = join(outDir, runStamp(run));
  const paths = { json: `${base}.json`, html: `${base}.html`, markdown: `${base}.md` };
  await writeFile(paths.json, JSON.stringify(run, null, 2) + '\n');
  await writeFile(paths.html, html);
  await writeFile(paths.markdown, markdown);
  return paths;
}
