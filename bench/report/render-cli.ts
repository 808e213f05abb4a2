/**
 * `troupe bench report <run.json> [--out DIR]`: renders a saved run's HTML report and ratio
 * table again (after a report change, or on another machine), by default beside the run.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseBenchRun, RunFileError } from './run-file.js';
import type { BenchRun } from './types.js';
import { writeRunReports } from './write.js';

export const REPORT_USAGE = 'usage: troupe bench report <run.json> [--out DIR]';

interface ReportArgs {
  file: string;
  outDir: string;
}

/** The arguments, or the one-line problem with them. */
function parseArgs(argv: string[]): ReportArgs | string {
  let file: string | undefined;
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--out') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) return '--out needs a directory';
      outDir = value;
      i += 1;
    } else if (arg.startsWith('--out=')) {
      outDir = arg.slice('--out='.length);
      if (outDir === '') return '--out needs a directory';
    } else if (arg.startsWith('-')) {
      return `unknown option ${arg}`;
    } else if (file === undefined) {
      file = arg;
    } else {
      return `one run file only (got ${file} and ${arg})`;
    }
  }
  if (file === undefined) return 'which run? give the path of a run JSON';
  return { file, outDir: outDir ?? dirname(resolve(file)) };
}

function fail(line: string): number {
  process.stderr.write(`troupe bench report: ${line}\n`);
  return 2;
}

/** Renders the run; prints the paths written. Exit 0, or 2 with one line on stderr. */
export async function renderReportCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`troupe bench report: ${args}\n${REPORT_USAGE}\n`);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(args.file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail(`cannot read ${args.file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`);
  }
  let run: BenchRun;
  try {
    run = parseBenchRun(text);
  } catch (err) {
    if (err instanceof RunFileError) return fail(`${args.file}: ${err.message}`);
    throw err;
  }
  try {
    const paths = await writeRunReports(run, args.outDir);
    process.stdout.write(`${paths.html}\n${paths.markdown}\n${paths.json}\n`);
    return 0;
  } catch (err) {
    return fail(`cannot write to ${args.outDir}: ${(err as Error).message.split('\n')[0]}`);
  }
}
