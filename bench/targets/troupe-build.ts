/**
 * Which build of Troupe a started target runs: the compiled dist/ when it is there and newer than
 * every source file it is built from, the TypeScript sources through tsx otherwise. A stale dist/
 * would measure yesterday's code, so it is never taken silently.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { distBuilt, REPO_ROOT } from '../lib/server-process.js';

/** The source folders dist/ is compiled from (tsconfig.json's include, less what the server never runs). */
const SOURCE_DIRS = ['actors', 'bin', 'config', 'transport', 'sql', 'proto'];

export interface TroupeBuild {
  useDist: boolean;
  /** One line for the progress output: which build and why. */
  why: string;
}

export function chooseTroupeBuild(): TroupeBuild {
  if (!distBuilt()) return { useDist: false, why: 'from the TypeScript sources (no dist/: npm run build to run the compiled server)' };
  const built = statSync(join(REPO_ROOT, 'dist/bin/troupe.js')).mtimeMs;
  const newest = Math.max(...SOURCE_DIRS.map((dir) => newestMtime(join(REPO_ROOT, dir))));
  if (newest > built) return { useDist: false, why: 'from the TypeScript sources (dist/ is older than the sources: npm run build to use it)' };
  return { useDist: true, why: 'from dist/ (compiled, newer than every source file)' };
}

function newestMtime(dir: string): number {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') || entry.name.endsWith('.proto') || entry.name.endsWith('.sql')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
