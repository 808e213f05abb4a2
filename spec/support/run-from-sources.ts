/**
 * Runs one of the repository's TypeScript entry points (through tsx) as a user would run it,
 * without the machine's TROUPE_ variables or PORT (which the configuration reads), and collects
 * its exit status and output.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node --import tsx <script> <args>` from the repository's root, e.g.
 * `runFromSources('bin/troupe.ts', ['bench', 'idle'])`; `extraEnv` is added to the cleaned environment.
 */
export function runFromSources(script: string, args: readonly string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TROUPE_') && name !== 'PORT') env[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
