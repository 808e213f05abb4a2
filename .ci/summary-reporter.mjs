/**
 * Mocha reporter for .ci/run: mocha's own `spec` output on the console, plus the run's real
 * counts written as JSON to the file named by `--reporter-option output=<file>`, in the shape
 * of mocha's JSON reporter (`{"stats": {"passes", "failures", "pending", "tests", ...}}`).
 *
 * Why not mocha's JSON reporter itself: mocha takes one reporter, and the JSON one prints
 * nothing readable, while a CI log should show every test as it runs. The file is written only
 * when the run ends, so a run that crashed before its end leaves no file, and .ci/run fails.
 */
import { writeFileSync } from 'node:fs';
import Mocha from 'mocha';

const { reporters, Runner } = Mocha;

export default class SummaryReporter extends reporters.Spec {
  constructor(runner, options = {}) {
    super(runner, options);
    const output = options.reporterOption?.output;
    if (typeof output !== 'string' || output === '') {
      throw new TypeError('summary-reporter: pass --reporter-option output=<file>');
    }
    runner.once(Runner.constants.EVENT_RUN_END, () => {
      writeFileSync(output, `${JSON.stringify({ stats: runner.stats })}\n`);
    });
  }
}
