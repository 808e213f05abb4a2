import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, parseArgs, type CliAction } from '../../bin/cli/args.js';
import { helpText } from '../../bin/cli/help.js';
import { isTroupeError } from '../../transport/errors.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

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

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `troupe <args>` from the TypeScript sources, in an environment without TROUPE_ variables. */
function troupe(args: string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TROUPE_') && name !== 'PORT') env[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/troupe.ts', ...args], {
    cwd: REPO,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
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
    expect(parseError(['deb'])).to.equal('unknown command "deb"; did you mean dev? (commands: dev, migrate, gateway, logic, repo, task, local-cluster, config, help; see troupe --help)');
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
