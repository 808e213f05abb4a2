/** The machine a run was measured on, for the report: cores, CPU, memory, OS, Node, Troupe's version and commit. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import type { MachineInfo } from '../report/types.js';
import { REPO_ROOT } from './server-process.js';

export function machineInfo(): MachineInfo {
  const all = cpus();
  const commit = gitCommit();
  return {
    cores: all.length,
    cpuModel: all[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    os: `${type()} ${release()} ${process.arch}`,
    node: process.version,
    troupeVersion: troupeVersion(),
    ...(commit === undefined ? {} : { commit }),
  };
}

function troupeVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** HEAD of the checkout, with `-dirty` when files differ from it; undefined outside a git checkout. */
function gitCommit(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}
