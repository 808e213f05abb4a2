/**
 * The k6 stand-in (spec/support/k6/) itself: that what k6 would report as a failure is reported
 * as one here too, so the script spec beside it cannot pass by accident. Fixture scripts in
 * fixtures/ make each failure on purpose.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runK6Script } from '../support/k6/run-script.js';
import { evaluateThresholds, percentile } from '../support/k6/thresholds.js';
import { startTestServer, type TestServer } from '../support/server.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('k6 stand-in', function () {
  this.timeout(30_000);

  describe('against a live server', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer();
    });

    after(async () => {
      await server?.stop();
    });

    it('records checks, metrics and synchronous HTTP, keeps setup and the VU apart, and judges thresholds', async () => {
      const run = await runK6Script(fixture('recording.js'), { env: { TROUPE_URL: server.baseUrl } });
      expect(run.errors).to.deep.equal([]);
      expect(run.setupData).to.deep.equal({ status: 200, body: { status: 'ok' }, contentType: 'application/json', vu: 0 });
      expect(run.checks).to.deep.equal({
        'setup ran on VU 0': { passes: 1, fails: 0 },
        'setup answered 200': { passes: 1, fails: 0 },
        "module state of setup is not the VU's": { passes: 1, fails: 0 },
        'VU 1, iteration 0': { passes: 1, fails: 0 },
        'a check that fails': { passes: 0, fails: 1 },
        'a wrong login is answered 401 before http.post returns': { passes: 1, fails: 0 },
      });
      expect(run.metrics.http_reqs?.values).to.have.length(2);
      expect(run.metrics.http_req_failed?.values).to.deep.equal([0, 1]);
      expect(run.thresholds.map(({ metric, expression, verdict, value }) => ({ metric, expression, verdict, value }))).to.deep.equal([
        { metric: 'fixture_mistakes', expression: 'count==0', verdict: 'fail', value: 2 },
        { metric: 'fixture_waited_ms', expression: 'p(50)>=0', verdict: 'pass', value: run.metrics.fixture_waited_ms?.values[0] },
        { metric: 'checks', expression: 'rate==1', verdict: 'fail', value: 5 / 6 },
        { metric: 'fixture_mistakes{kind:any}', expression: 'count==0', verdict: 'not emulated', value: undefined },
        { metric: 'ws_connecting', expression: 'p(95)<1000', verdict: 'not emulated', value: undefined },
      ]);
    });

    it('counts a WebSocket handshake the server refuses as an error of the scripts', async () => {
      const run = await runK6Script(fixture('bad-token.js'), { env: { TROUPE_URL: server.baseUrl } });
      expect(run.errors).to.deep.equal([]);
      expect(run.checks).to.deep.equal({ 'no ready frame': { passes: 1, fails: 0 } });
      expect(run.metrics.troupe_errors?.values).to.deep.equal([1]);
      expect(run.logs.join('\n')).to.match(/socket error: .*401/);
    });
  });

  it('ends an iteration whose timer callback throws, with that error', async () => {
    const run = await runK6Script(fixture('throwing-timer.js'));
    expect(run.errors).to.have.length(1);
    expect(run.errors[0]).to.match(/^iteration: Error: thrown in a timer callback/);
    expect(run.checks).to.deep.equal({});
  });

  it('reports a promise rejected with nobody to handle it as an error of the iteration', async () => {
    const run = await runK6Script(fixture('unhandled-rejection.js'));
    expect(run.errors).to.have.length(1);
    expect(run.errors[0]).to.match(/^iteration: Error: a rejection nobody handles/);
  });

  it('reports an iteration that never finishes once the run\'s timeout has passed', async () => {
    const run = await runK6Script(fixture('never-settles.js'), { timeoutMs: 300 });
    expect(run.errors).to.have.length(1);
    expect(run.errors[0]).to.match(/^iteration: Error: iteration did not finish within 300 ms/);
  });

  it('refuses a k6 module it does not emulate, by name', async () => {
    const run = await runK6Script(fixture('unknown-module.js'));
    expect(run.errors).to.have.length(1);
    expect(run.errors[0]).to.match(/^setup: .*does not emulate k6\/net\/grpc/);
  });

  it('refuses a metric declared outside the init context, as k6 does', async () => {
    const run = await runK6Script(fixture('late-metric.js'));
    expect(run.errors).to.have.length(1);
    expect(run.errors[0]).to.match(/^iteration: Error: declaring a metric is not allowed in the iteration context/);
  });

  describe('thresholds', () => {
    it('interpolates percentiles between the nearest ranks', () => {
      expect(percentile([10, 20, 30, 40], 50)).to.equal(25);
      expect(percentile([10, 20, 30, 40], 100)).to.equal(40);
      expect(percentile([7], 99)).to.equal(7);
    });

    it('judges each aggregate on its metric type and reports what it cannot judge', () => {
      const results = evaluateThresholds(
        {
          t: ['avg<3', 'max<=3', 'min>1', 'med==2', 'p(90)<2'],
          c: ['count==6', 'rate<1'],
          r: [{ threshold: 'rate>0.5' }],
          g: ['value==4'],
          empty: ['p(99)<1'],
        },
        {
          t: { type: 'trend', isTime: true, values: [3, 1, 2] },
          c: { type: 'counter', isTime: false, values: [1, 5] },
          r: { type: 'rate', isTime: false, values: [1, 0, 1] },
          g: { type: 'gauge', isTime: false, values: [9, 4] },
          empty: { type: 'trend', isTime: true, values: [] },
        },
      );
      expect(results.map((r) => `${r.metric} ${r.expression} ${r.verdict}`)).to.deep.equal([
        't avg<3 pass',
        't max<=3 pass',
        't min>1 fail',
        't med==2 pass',
        't p(90)<2 fail',
        'c count==6 pass',
        'c rate<1 not emulated',
        'r rate>0.5 pass',
        'g value==4 pass',
        'empty p(99)<1 no data',
      ]);
    });

    it('refuses a threshold it cannot parse', () => {
      expect(() => evaluateThresholds({ t: ['p99 < 3'] }, {})).to.throw('threshold t: cannot parse "p99 < 3"');
    });
  });
});
