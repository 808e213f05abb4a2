import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, parseArgs, type CliAction } from '../../bin/cli/args.js';
import { helpText } from '../../bin/cli/help.js';
import { localClusterOptions } from '../../bin/commands/local-cluster.js';
import { isTroupeError } from '../../transport/errors.js';
import { runFromSources, type RunResult } from '../support/run-from-sources.js';

/** The message of the TroupeError('config') that parsing `argv` throws. */
function parseError(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (err) {
    if (isTroupeError(err, 'config')) return err.message;
    throw err;
  }
  expect.fail(`parseArgs(${JSON.stringify(argv)}) should have failed`);
}

/** Runs `troupe <args>` from the TypeScript sources, in an environment without TROUPE_ variables. */
function troupe(args: string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
  return runFromSources('bin/troupe.ts', args, extraEnv);
}

describe('cli: parseArgs', () => {
  it('turns dev flags into typed overrides, in both --flag value and --flag=value forms', () => {
    const action = parseArgs(['dev', '--port', '9000', '--host=127.0.0.1', '--data-dir', '/tmp/d', '--log-level=debug', '--config', 'x.yaml']);
    expect(action).to.deep.equal({
      kind: 'run',
      command: 'dev',
      configFile: 'x.yaml',
      overrides: { 'gateway.port': 9000, 'gateway.host': '127.0.0.1', dataDir: '/tmp/d', 'logging.level': 'debug' },
      options: {},
    } satisfies CliAction);
  });

  it('takes --data-dir and --config for migrate', () => {
    expect(parseArgs(['migrate', '--data-dir=/tmp/m', '--config=c.yaml'])).to.deep.equal({
      kind: 'run', command: 'migrate', configFile: 'c.yaml', overrides: { dataDir: '/tmp/m' }, options: {},
    });
  });

  it('runs a command without flags with no overrides', () => {
    expect(parseArgs(['dev'])).to.deep.equal({ kind: 'run', command: 'dev', configFile: undefined, overrides: {}, options: {} });
  });

  it('takes the cluster flags of a role and the counts of local-cluster, with defaults', () => {
    expect(parseArgs(['logic', '--brokers', 'k:9092', '--etcd=http://e:2379', '--redis', 'redis://r:6379', '--node-id', 'logic-7', '--ops-port', '0'])).to.deep.equal({
      kind: 'run', command: 'logic', configFile: undefined, options: {},
      overrides: { 'cluster.brokers': 'k:9092', 'cluster.etcd': 'http://e:2379', 'cluster.redisUrl': 'redis://r:6379', 'node.id': 'logic-7', 'ops.port': 0 },
    });
    expect(parseArgs(['local-cluster', '--gateways', '3', '--task=0', '--base-port', '9000'])).to.deep.equal({
      kind: 'run', command: 'local-cluster', configFile: undefined, overrides: {},
      options: { gateways: 3, logic: 2, repo: 2, task: 0, basePort: 9000 },
      flags: {},
    });
    expect(() => parseArgs(['local-cluster', '--gateways', '0'])).to.throw('invalid value "0" for --gateways of "troupe local-cluster": must be an integer from 1 to 16');
    expect(() => parseArgs(['repo', '--port', '1'])).to.throw('unknown flag --port for "troupe repo"');
  });

  it('collects the operands of troupe config between its flags, and only for a command that takes them', () => {
    expect(parseArgs(['config', 'set', '--etcd', 'http://e:2379', 'logging.level', 'debug', '--cluster=c1'])).to.deep.equal({
      kind: 'run', command: 'config', configFile: undefined, options: {},
      overrides: { 'cluster.etcd': 'http://e:2379', 'node.cluster': 'c1' },
      operands: ['set', 'logging.level', 'debug'],
    });
    expect(parseArgs(['config'])).to.deep.include({ operands: [] });
    expect(parseArgs(['dev'])).not.to.have.property('operands');
  });

  it('takes local-cluster --no-restart as a switch and hands restart: false to the launcher', () => {
    const action = parseArgs(['local-cluster', '--no-restart', '--logic', '3', '--config', 'c.yaml']);
    expect(action).to.deep.include({ command: 'local-cluster', configFile: 'c.yaml', flags: { noRestart: true } });
    if (action.kind !== 'run') expect.fail('a run');
    expect(localClusterOptions(action.options, action.flags, action.configFile)).to.deep.equal({
      gateways: 2, logic: 3, repo: 2, task: 1, restart: false, configFile: 'c.yaml',
    });
    const plain = parseArgs(['local-cluster', '--base-port', '9000']);
    if (plain.kind !== 'run') expect.fail('a run');
    expect(localClusterOptions(plain.options, plain.flags, plain.configFile)).to.deep.equal({ gateways: 2, logic: 2, repo: 2, task: 1, restart: true, basePort: 9000 });
    expect(parseError(['local-cluster', '--no-restart=yes'])).to.equal('--no-restart of "troupe local-cluster" takes no value: write --no-restart alone (see troupe local-cluster --help)');
    // A switch takes no value: the word after it is an operand, which local-cluster refuses.
    expect(parseError(['local-cluster', '--no-restart', 'yes'])).to.include('unexpected argument "yes"');
    expect(parseError(['local-cluster', '--no-restar'])).to.include('did you mean --no-restart?');
  });

  it('takes the flags of troupe status: etcd and cluster as configuration, --url, --json and --timeout', () => {
    expect(parseArgs(['status', '--etcd', 'http://e:2379', '--cluster=c1', '--json', '--timeout', '500'])).to.deep.equal({
      kind: 'run', command: 'status', configFile: undefined,
      overrides: { 'cluster.etcd': 'http://e:2379', 'node.cluster': 'c1' },
      options: { timeoutMs: 500 },
      flags: { json: true },
    });
    expect(parseArgs(['status', '--url', 'http://127.0.0.1:8080'])).to.deep.include({ options: { timeoutMs: 2000 }, flags: { url: 'http://127.0.0.1:8080' } });
    expect(parseError(['status', '--url', 'ftp://h:1'])).to.equal(
      'invalid value "ftp://h:1" for --url of "troupe status": must be an http:// or https:// URL with a host, e.g. --url http://127.0.0.1:8080',
    );
    expect(parseError(['status', '--url', 'localhost:8080'])).to.include('invalid value "localhost:8080" for --url');
    expect(parseError(['status', '--timeout', '0'])).to.include('invalid value "0" for --timeout of "troupe status": must be an integer from 50 to 60000');
    expect(parseError(['status', '--json=1'])).to.include('--json of "troupe status" takes no value');
    expect(parseError(['status', 'now'])).to.include('unexpected argument "now" for "troupe status"');
  });

  it('answers --help, -h and help [command] with the right help', () => {
    expect(parseArgs([])).to.deep.equal({ kind: 'help', command: undefined });
    expect(parseArgs(['--help'])).to.deep.equal({ kind: 'help', command: undefined });
    expect(parseArgs(['-h'])).to.deep.equal({ kind: 'help', command: undefined });
    expect(parseArgs(['help'])).to.deep.equal({ kind: 'help', command: undefined });
    expect(parseArgs(['help', 'migrate'])).to.deep.equal({ kind: 'help', command: 'migrate' });
    expect(parseArgs(['dev', '--help'])).to.deep.equal({ kind: 'help', command: 'dev' });
    expect(parseArgs(['dev', '--prot', '1', '-h'])).to.deep.equal({ kind: 'help', command: 'dev' });
  });

  it('answers --version', () => {
    expect(parseArgs(['--version'])).to.deep.equal({ kind: 'version' });
  });

  it('refuses an unknown command, suggesting a near one', () => {
    expect(parseError(['deb'])).to.equal('unknown command "deb"; did you mean dev? (commands: dev, migrate, gateway, logic, repo, task, local-cluster, config, status, help; see troupe --help)');
    expect(parseError(['help', 'serve'])).to.include('unknown command "serve"');
  });

  it('refuses an unknown flag, naming it, the command and the fix', () => {
    expect(parseError(['dev', '--prot', '1'])).to.equal('unknown flag --prot for "troupe dev"; did you mean --port? (see troupe dev --help)');
    expect(parseError(['migrate', '--port', '1'])).to.equal('unknown flag --port for "troupe migrate" (see troupe migrate --help)');
  });

  it('refuses a flag without its value, at the end or before another flag', () => {
    expect(parseError(['dev', '--port'])).to.equal('missing value for --port of "troupe dev", e.g. --port 8080 (see troupe dev --help)');
    expect(parseError(['dev', '--data-dir', '--port', '1'])).to.include('missing value for --data-dir');
    expect(parseError(['dev', '--config='])).to.include('missing value for --config');
  });

  it('refuses invalid values with the schema rule', () => {
    expect(parseError(['dev', '--port', 'abc'])).to.equal(
      'invalid value "abc" for --port of "troupe dev": must be an integer from 0 to 65535, e.g. --port 8080',
    );
    expect(parseError(['dev', '--port=70000'])).to.include('invalid value "70000" for --port');
    expect(parseError(['dev', '--log-level', 'loud'])).to.include('must be one of error, warn, info, debug');
  });

  it('refuses stray arguments and flags before the command', () => {
    expect(parseError(['dev', 'now'])).to.equal('unexpected argument "now" for "troupe dev" (see troupe dev --help)');
    expect(parseError(['--port', '1', 'dev'])).to.include('flag --port must come after a command');
  });

  it('keeps every message on one line', () => {
    for (const argv of [['deb'], ['dev', '--prot'], ['dev', '--port'], ['dev', '--port', 'x'], ['dev', 'x'], ['--x']]) {
      expect(parseError(argv)).not.to.include('\n');
    }
  });
});

describe('cli: helpText', () => {
  it('lists commands and the environment variables in the general help', () => {
    const text = helpText(undefined);
    for (const word of ['Usage: troupe <command> [flags]', 'dev', 'migrate', '--version', 'PORT', 'TROUPE_DATA_DIR', 'TROUPE_<SECTION>__<KEY>']) {
      expect(text).to.include(word);
    }
  });

  it('lists every flag of a command in its help', () => {
    for (const [command, spec] of Object.entries(COMMANDS)) {
      const text = helpText(command as keyof typeof COMMANDS);
      expect(text).to.include(`Usage: troupe ${command} [flags]`);
      for (const flag of spec.flags) expect(text).to.include(`${flag.flag} ${flag.placeholder}`);
    }
  });

  it('says what troupe status exits with, and that local-cluster --no-restart leaves a dead role dead', () => {
    const status = helpText('status');
    expect(status).to.include('Exit status: 0 when every unit is claimed and hosted and every node is ready; 1 otherwise');
    expect(status).not.to.include('Exit status: 0 done');
    expect(status).to.match(/--json\s+print the same report as JSON/);
    expect(helpText('local-cluster')).to.match(/--no-restart\s+a role process that ends is reported and left dead/);
  });
});

describe('cli: the troupe process', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('prints usage and exits 0 on --help', async () => {
    const result = await troupe(['--help']);
    expect(result.status).to.equal(0);
    expect(result.stdout).to.include('Usage: troupe <command> [flags]');
    expect(result.stderr).to.equal('');
  });

  it('exits 2 with one stderr line naming an unknown flag', async () => {
    const result = await troupe(['dev', '--prot', '1']);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.match(/^troupe: unknown flag --prot for "troupe dev"[^\n]*\n$/);
  });

  it('exits 2 on an invalid flag value', async () => {
    const result = await troupe(['dev', '--port', 'abc']);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.match(/^troupe: invalid value "abc" for --port[^\n]*\n$/);
  });

  it('exits 2 on an invalid environment variable, naming key and variable', async () => {
    const result = await troupe(['dev'], { TROUPE_GATEWAY__PORT: 'x' });
    expect(result.status).to.equal(2);
    expect(result.stderr).to.equal('troupe: config: gateway.port must be an integer from 0 to 65535 (got "x" from TROUPE_GATEWAY__PORT)\n');
  });

  it('troupe status exits 2 with one line naming --etcd and --url when it has neither, or both', async () => {
    const neither = await troupe(['status']);
    expect(neither.status).to.equal(2);
    expect(neither.stderr).to.match(/^troupe: troupe status needs --etcd URLS \(a cluster\) or --url URL \(one server\)[^\n]*\n$/);
    const both = await troupe(['status', '--url', 'http://127.0.0.1:1', '--etcd', 'http://127.0.0.1:2']);
    expect(both.status).to.equal(2);
    expect(both.stderr).to.equal('troupe: troupe status takes --url (one server) or --etcd (a cluster), not both (see troupe status --help)\n');
  });

  it('migrate creates the SQLite database under --data-dir and exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'troupe-cli-migrate-'));
    const result = await troupe(['migrate', '--data-dir', dir]);
    expect(result.stderr).to.equal('');
    expect(result.status).to.equal(0);
    expect(existsSync(join(dir, 'troupe.sqlite'))).to.equal(true);
    expect(result.stdout).to.include('applied');
    const again = await troupe(['migrate', `--data-dir=${dir}`]);
    expect(again.status).to.equal(0);
    expect(again.stdout).to.include('up to date');
  });
});
