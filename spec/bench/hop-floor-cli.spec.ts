/**
 * `npm run bench:floor` refuses a bad flag before it starts any service: exit 2 and one line
 * naming the flag and what it takes.
 */
import { expect } from 'chai';
import { runFromSources } from '../support/run-from-sources.js';

describe('bench: the hop floor\'s command-line mistakes', function () {
  this.timeout(30_000);

  for (const [args, flag] of [
    [['--rate', 'fast'], '--rate'],
    [['--duration', '0'], '--duration'],
    [['--part', 'everything'], '--part'],
    [['--bogus'], '--bogus'],
  ] as const) {
    it(`bench:floor ${args.join(' ')}: exit 2 with one line naming ${flag}`, async () => {
      const result = await runFromSources('bench/hop-floor.ts', args);
      expect(result.status).to.equal(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines, result.stderr).to.have.length(1);
      expect(lines[0]).to.include(flag);
    });
  }
});
