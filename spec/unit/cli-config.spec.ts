/**
 * `troupe config get|set|unset|list` as an operator runs it: the real process (bin/troupe.ts
 * from the sources) against a private etcd. Values land at `/troupe/<cluster>/config/<key>` as
 * text; a key that is not live or a value its rule refuses exits 2 with one line before etcd is
 * written; an etcd that cannot be reached exits 1 with one line.
 */
import { createServer, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { startEtcd, type EtcdService } from '../../bin/services/etcd.js';
import { LIVE_KEYS, liveConfigPrefix } from '../../config/live-keys.js';
import { EtcdCoordinator } from '../../transport/coord/etcd.js';
import { runFromSources, type RunResult } from '../support/run-from-sources.js';
import { uniqueName } from '../support/wait-for.js';

/** Runs `troupe config <args>` from the sources, in an environment without TROUPE_ variables. */
function troupeConfig(args: string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
  return runFromSources('bin/troupe.ts', ['config', ...args], extraEnv);
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('cli: troupe config against etcd', function () {
  this.timeout(30_000);
  let etcd: EtcdService | undefined;
  let coord: EtcdCoordinator;
  let cluster: string;
  let prefix: string;
  /** --etcd and --cluster of this test. */
  let at: string[];

  before(async function () {
    this.timeout(120_000);
    etcd = await startEtcd();
  });

  after(async function () {
    await etcd?.stop();
  });

  beforeEach(function () {
    if (etcd === undefined) throw new Error('etcd did not start');
    coord = new EtcdCoordinator({ endpoints: etcd.endpoint, callTimeoutMs: 2000 });
    cluster = uniqueName('cli');
    prefix = liveConfigPrefix(cluster);
    at = ['--etcd', etcd.endpoint, '--cluster', cluster];
  });

  afterEach(async function () {
    const { kvs } = await coord.getPrefix(prefix);
    for (const kv of kvs) await coord.delete(kv.key);
    await coord.close();
  });

  async function stored(): Promise<Record<string, string>> {
    const { kvs } = await coord.getPrefix(prefix);
    return Object.fromEntries(kvs.map((kv) => [kv.key.slice(prefix.length), kv.value]));
  }

  it('set stores the value as text at /troupe/<cluster>/config/<key>; get prints it', async function () {
    const set = await troupeConfig(['set', 'gateway.rateLimit.burst', '+100', ...at]);
    expect(set.stderr).to.equal('');
    expect(set.status).to.equal(0);
    expect(await stored()).to.deep.equal({ 'gateway.rateLimit.burst': '100' });
    const get = await troupeConfig(['get', 'gateway.rateLimit.burst', ...at]);
    expect(get).to.deep.equal({ status: 0, stdout: '100\n', stderr: '' });
  });

  it('get prints the configured value with "(default)" when etcd has none, finding etcd through TROUPE_CLUSTER__ETCD', async function () {
    const get = await troupeConfig(['get', 'logging.level', '--cluster', cluster], { TROUPE_CLUSTER__ETCD: etcd!.endpoint, TROUPE_LOGGING__LEVEL: 'warn' });
    expect(get).to.deep.equal({ status: 0, stdout: 'warn (default)\n', stderr: '' });
  });

  it('list prints every live key with its value and whether it is set in etcd or the default', async function () {
    await coord.put(`${prefix}logging.level`, 'debug');
    await coord.put(`${prefix}sync.maxLimit`, 'lots'); // written behind the CLI's back: nodes ignore it
    const list = await troupeConfig(['list', ...at]);
    expect(list.stderr).to.equal('');
    expect(list.status).to.equal(0);
    const rows = new Map(list.stdout.trimEnd().split('\n').map((line) => {
      const [key, value, ...source] = line.split(/\s{2,}/);
      return [key!, { value, source: source.join(' ') }];
    }));
    expect([...rows.keys()]).to.deep.equal([...LIVE_KEYS]);
    expect(rows.get('logging.level')).to.deep.equal({ value: 'debug', source: 'etcd' });
    expect(rows.get('gateway.rateLimit.burst')).to.deep.equal({ value: '60', source: 'default' });
    expect(rows.get('sync.maxLimit')?.source).to.match(/^etcd, invalid: must be an integer from 1 to 10000; nodes ignore it$/);
  });

  it('unset removes the value, and get shows the default again', async function () {
    await coord.put(`${prefix}history.maxLimit`, '300');
    const unset = await troupeConfig(['unset', 'history.maxLimit', ...at]);
    expect(unset.status).to.equal(0);
    expect(await stored()).to.deep.equal({});
    expect((await troupeConfig(['get', 'history.maxLimit', ...at])).stdout).to.equal('200 (default)\n');
  });

  it('set refuses a key that is not live with exit 2 and one line listing the live keys, writing nothing', async function () {
    const result = await troupeConfig(['set', 'gateway.port', '9000', ...at]);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.match(/^troupe: gateway\.port is not a live key \(it takes a restart[^\n]*live keys: [^\n]*logging\.level[^\n]*\n$/);
    const typo = await troupeConfig(['set', 'gateway.rateLimit.brust', '9', ...at]);
    expect(typo.status).to.equal(2);
    expect(typo.stderr).to.match(/^troupe: unknown key gateway\.rateLimit\.brust; did you mean gateway\.rateLimit\.burst\? live keys: [^\n]*\n$/);
    expect(await stored()).to.deep.equal({});
  });

  it('set refuses an invalid value with exit 2 and one line stating the rule, writing nothing', async function () {
    const level = await troupeConfig(['set', 'logging.level', 'loud', ...at]);
    expect(level).to.deep.equal({ status: 2, stdout: '', stderr: 'troupe: invalid value "loud" for logging.level: must be one of error, warn, info, debug\n' });
    const bound = await troupeConfig(['set', 'history.maxLimit', '10', ...at]);
    expect(bound.status).to.equal(2);
    expect(bound.stderr).to.equal('troupe: invalid value "10" for history.maxLimit: must be at least history.defaultLimit (50)\n');
    expect(await stored()).to.deep.equal({});
  });

  it('exits 1 with one line when etcd cannot be reached', async function () {
    const result = await troupeConfig(['list', '--etcd', `http://127.0.0.1:${await unusedPort()}`, '--cluster', cluster]);
    expect(result.status).to.equal(1);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.match(/^troupe: cannot reach etcd at http:\/\/127\.0\.0\.1:\d+ \((unavailable|timeout)\); check --etcd[^\n]*\n$/);
  });

  it('exits 2 with one line on a missing or unknown subcommand, or without an etcd address', async function () {
    const none = await troupeConfig([...at]);
    expect(none.status).to.equal(2);
    expect(none.stderr).to.match(/^troupe: missing subcommand for "troupe config"[^\n]*\n$/);
    const unknown = await troupeConfig(['lst', ...at]);
    expect(unknown.stderr).to.match(/^troupe: unknown subcommand "lst" for "troupe config"; did you mean list\?[^\n]*\n$/);
    const noEtcd = await troupeConfig(['list']);
    expect(noEtcd.status).to.equal(2);
    expect(noEtcd.stderr).to.equal('troupe: cluster.etcd is empty: troupe config needs it; pass --etcd http://etcd1:2379 or set TROUPE_CLUSTER__ETCD\n');
  });
});
