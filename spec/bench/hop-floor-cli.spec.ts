/**
 * `npm run bench:floor` refuses a bad flag before it starts any service: exit 2 and one line
 * naming the flag and what it takes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function hopFloor(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/hop-floor.ts', ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('bench: the hop floor\'s command-line mistakes', function () {
  this.timeout(30_000);

  for (const [args, flag] of [
    [['--rate', 'fast'], '--rate'],
    [['--duration', '0'], '--duration'],
    [['--part', 'everything'], '--part'],
    [['--bogus'], '--bogus'],
  ] as const) {
    it(`bench:floor ${args.join(' ')}: exit 2 with one line naming ${flag}`, async () => {
      const result = await hopFloor([...args]);
      expect(result.status).to.equal(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines, result.stderr).to.have.length(1);
      expect(lines[0]).to.include(flag);
    });
  }
});
