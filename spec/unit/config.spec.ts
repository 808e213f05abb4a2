import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { envVariableOf } from '../../config/env.js';
import { loadConfig, type LoadConfigOptions } from '../../config/load.js';
import { CONFIG_KEYS, CONFIG_SCHEMA } from '../../config/schema.js';
import type { TroupeConfig } from '../../config/types.js';
import { checkValue } from '../../config/validate.js';
import { isTroupeError, TroupeError } from '../../transport/errors.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The TroupeError('config') that `loadConfig(options)` throws; fails the test if it does not. */
function loadError(options: LoadConfigOptions): TroupeError {
  try {
    loadConfig(options);
  } catch (err) {
    if (isTroupeError(err, 'config')) return err;
    throw err;
  }
  expect.fail('loadConfig should have refused this configuration');
}

function valueAt(config: TroupeConfig, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}

describe('config: loadConfig', () => {
  let dir: string;
  const writeYaml = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'troupe-config-spec-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('defaults', () => {
    it('loads default.yaml with the documented production defaults', () => {
      const config = loadConfig({ env: {} });
      expect(config.node.cluster).to.equal('troupe');
      expect(config.gateway).to.include({ host: '0.0.0.0', port: 8080, maxFrameBytes: 65536, transportMaxPayloadBytes: 1048576 });
      expect(config.gateway.rateLimit).to.deep.equal({ burst: 60, perSecond: 20 });
      expect(config.auth.argon2).to.deep.equal({ memoryKiB: 19456, iterations: 2, parallelism: 1, poolSize: 4, maxQueue: 1000 });
      expect(config.log).to.include({ upstreamTopic: 'im-upstream', upstreamPartitions: 16, downstreamTopicPrefix: 'im-downstream-' });
      expect(config.repo).to.deep.equal({ shards: 64, batchMaxRows: 500, batchMaxDelayMs: 4 });
      expect(config.storage.client).to.equal('sqlite');
      expect(config.logging.level).to.equal('info');
      expect(config.shutdown.drainTimeoutMs).to.equal(15000);
    });

    it('gives every schema key a value that passes its own rule', () => {
      const config = loadConfig({ env: {} });
      for (const key of CONFIG_KEYS) {
        const checked = checkValue(CONFIG_SCHEMA[key], valueAt(config, key), false);
        expect(checked.ok, key).to.equal(true);
      }
    });

    it('default.yaml holds exactly the schema keys, each with a comment', () => {
      const text = readFileSync(join(REPO, 'config/default.yaml'), 'utf8');
      const leaves: string[] = [];
      const walk = (node: Record<string, unknown>, prefix: string): void => {
        for (const [k, v] of Object.entries(node)) {
          const path = prefix === '' ? k : `${prefix}.${k}`;
          if (typeof v === 'object' && v !== null) walk(v as Record<string, unknown>, path);
          else leaves.push(path);
        }
      };
      walk(parseYaml(text) as Record<string, unknown>, '');
      expect([...leaves].sort()).to.deep.equal([...CONFIG_KEYS].sort());
      const uncommented = text.split('\n').filter((line) => /^\s*\w+:\s*\S/.test(line) && !line.includes('#'));
      expect(uncommented).to.deep.equal([]);
    });

    it('derives the node id from the host name and pid when node.id is empty', () => {
      const config = loadConfig({ env: {} });
      expect(config.node.id).to.equal(`${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-${process.pid}`);
    });

    it('keeps an explicit node id', () => {
      expect(loadConfig({ env: { TROUPE_NODE__ID: 'gw-7' } }).node.id).to.equal('gw-7');
    });
  });

  describe('derived paths', () => {
    it('resolves dataDir and puts keys and the SQLite file under it when they are empty', () => {
      const config = loadConfig({ env: {}, overrides: { dataDir: 'relative/data' } });
      const dataDir = resolve('relative/data');
      expect(config.dataDir).to.equal(dataDir);
      expect(config.auth.keysDir).to.equal(join(dataDir, 'keys'));
      expect(config.storage.filename).to.equal(join(dataDir, 'troupe.sqlite'));
    });

    it('resolves explicit keysDir and filename on their own, and keeps :memory:', () => {
      const config = loadConfig({ env: { TROUPE_AUTH__KEYS_DIR: 'elsewhere/keys', TROUPE_STORAGE__FILENAME: 'db/x.sqlite' } });
      expect(config.auth.keysDir).to.equal(resolve('elsewhere/keys'));
      expect(config.storage.filename).to.equal(resolve('db/x.sqlite'));
      expect(loadConfig({ env: { TROUPE_STORAGE__FILENAME: ':memory:' } }).storage.filename).to.equal(':memory:');
    });
  });

  describe('config file', () => {
    it('overrides only the keys it names', () => {
      const file = writeYaml('ok.yaml', 'gateway:\n  port: 9001\n  rateLimit:\n    burst: 5\nlogging:\n  level: debug\n');
      const config = loadConfig({ file, env: {} });
      expect(config.gateway.port).to.equal(9001);
      expect(config.gateway.rateLimit).to.deep.equal({ burst: 5, perSecond: 20 });
      expect(config.logging.level).to.equal('debug');
      expect(config.gateway.host).to.equal('0.0.0.0');
    });

    it('accepts an empty file and empty sections', () => {
      expect(loadConfig({ file: writeYaml('empty.yaml', ''), env: {} }).gateway.port).to.equal(8080);
      expect(loadConfig({ file: writeYaml('sections.yaml', 'gateway:\n'), env: {} }).gateway.port).to.equal(8080);
    });

    it('refuses an unknown key, naming it and the file, with a suggestion', () => {
      const file = writeYaml('typo.yaml', 'gateway:\n  prot: 9001\n');
      const err = loadError({ file, env: {} });
      expect(err.message).to.include('unknown key gateway.prot').and.include(file).and.include('did you mean gateway.port?');
    });

    it('refuses an unknown section', () => {
      expect(loadError({ file: writeYaml('section.yaml', 'gatway:\n  port: 1\n'), env: {} }).message).to.include('unknown key gatway');
    });

    it('refuses a value where a section belongs', () => {
      const err = loadError({ file: writeYaml('flat.yaml', 'gateway: 5\n'), env: {} });
      expect(err.message).to.include('gateway is a section');
    });

    it('refuses a quoted number, naming key, value and file', () => {
      const file = writeYaml('quoted.yaml', 'gateway:\n  port: "8080"\n');
      expect(loadError({ file, env: {} }).message).to.equal(
        `config: gateway.port must be an integer from 0 to 65535 (got "8080" from ${file})`,
      );
    });

    it('refuses a missing file and invalid YAML with a config error naming the file', () => {
      const missing = join(dir, 'nope.yaml');
      expect(loadError({ file: missing, env: {} }).message).to.include(`cannot read config file ${missing}`);
      const broken = writeYaml('broken.yaml', 'gateway: [1, 2\n');
      expect(loadError({ file: broken, env: {} }).message).to.include(`${broken} is not valid YAML`);
    });
  });

  describe('environment', () => {
    it('sets nested keys from TROUPE_<SECTION>__<KEY> variables', () => {
      const config = loadConfig({
        env: {
          TROUPE_GATEWAY__RATE_LIMIT__BURST: '7',
          TROUPE_DATA_DIR: join(dir, 'env-data'),
          TROUPE_AUTH__ARGON2__MEMORY_KIB: '2048',
          TROUPE_STORAGE__CLIENT: 'sqlite',
          TROUPE_LOG__UPSTREAM_TOPIC: 'up-x',
        },
      });
      expect(config.gateway.rateLimit.burst).to.equal(7);
      expect(config.dataDir).to.equal(join(dir, 'env-data'));
      expect(config.auth.argon2.memoryKiB).to.equal(2048);
      expect(config.log.upstreamTopic).to.equal('up-x');
    });

    it('takes PORT as gateway.port, and TROUPE_GATEWAY__PORT over PORT', () => {
      expect(loadConfig({ env: { PORT: '3000' } }).gateway.port).to.equal(3000);
      expect(loadConfig({ env: { PORT: '3000', TROUPE_GATEWAY__PORT: '4000' } }).gateway.port).to.equal(4000);
    });

    it('overrides the config file', () => {
      const file = writeYaml('port.yaml', 'gateway:\n  port: 9001\n');
      expect(loadConfig({ file, env: { TROUPE_GATEWAY__PORT: '9002' } }).gateway.port).to.equal(9002);
    });

    it('ignores variables without the TROUPE_ prefix', () => {
      expect(loadConfig({ env: { HOME: '/root', GATEWAY__PORT: 'x', TROUPEX: 'y' } }).gateway.port).to.equal(8080);
    });

    it('refuses an unknown TROUPE_ variable, naming it and suggesting the right one', () => {
      const err = loadError({ env: { TROUPE_GATEWAY__PROT: '1' } });
      expect(err.message).to.include('TROUPE_GATEWAY__PROT').and.include('did you mean TROUPE_GATEWAY__PORT?');
      expect(loadError({ env: { TROUPE_GATEWAY: '1' } }).message).to.include('names a section');
    });

    it('refuses a bad value with one line naming key, value and variable', () => {
      const err = loadError({ env: { TROUPE_GATEWAY__PORT: 'abc' } });
      expect(err.message).to.equal('config: gateway.port must be an integer from 0 to 65535 (got "abc" from TROUPE_GATEWAY__PORT)');
      expect(loadError({ env: { PORT: '70000' } }).message).to.include('(got "70000" from PORT)');
    });

    it('refuses a value outside an enum, listing the allowed ones', () => {
      expect(loadError({ env: { TROUPE_LOGGING__LEVEL: 'verbose' } }).message).to.equal(
        'config: logging.level must be one of error, warn, info, debug (got "verbose" from TROUPE_LOGGING__LEVEL)',
      );
    });

    it('refuses a name unfit for topics and keys', () => {
      expect(loadError({ env: { TROUPE_NODE__CLUSTER: 'a/b' } }).message).to.include('node.cluster must be a string of letters');
    });

    it('names every key by its variable as documented', () => {
      expect(envVariableOf('gateway.rateLimit.burst')).to.equal('TROUPE_GATEWAY__RATE_LIMIT__BURST');
      expect(envVariableOf('dataDir')).to.equal('TROUPE_DATA_DIR');
      expect(envVariableOf('auth.argon2.memoryKiB')).to.equal('TROUPE_AUTH__ARGON2__MEMORY_KIB');
      const everyKey = Object.fromEntries(CONFIG_KEYS.map((key) => [envVariableOf(key), String(valueAt(loadConfig({ env: {} }), key))]));
      expect(() => loadConfig({ env: everyKey })).not.to.throw();
    });
  });

  describe('overrides', () => {
    it('win over the environment and coerce text per schema', () => {
      const config = loadConfig({ env: { TROUPE_GATEWAY__PORT: '9002' }, overrides: { 'gateway.port': '9003', 'gateway.host': '127.0.0.1' } });
      expect(config.gateway.port).to.equal(9003);
      expect(config.gateway.host).to.equal('127.0.0.1');
    });

    it('refuse an unknown key and a bad value, naming the command line', () => {
      expect(loadError({ env: {}, overrides: { 'gateway.prot': 1 } }).message).to.include('unknown key gateway.prot');
      expect(loadError({ env: {}, overrides: { 'gateway.port': 70000 } }).message).to.equal(
        'config: gateway.port must be an integer from 0 to 65535 (got 70000 from the command line)',
      );
    });
  });

  describe('rules between keys', () => {
    it('refuses a default limit over the maximum, naming both sources', () => {
      const err = loadError({ env: { TROUPE_HISTORY__DEFAULT_LIMIT: '300' } });
      expect(err.message).to.equal(
        'config: history.defaultLimit must be at most history.maxLimit (got 300 from TROUPE_HISTORY__DEFAULT_LIMIT and 200 from config/default.yaml)',
      );
    });

    it('refuses a presence heartbeat not shorter than the presence TTL', () => {
      expect(loadError({ env: { TROUPE_GATEWAY__PRESENCE_HEARTBEAT_MS: '60000' } }).message).to.include('gateway.presenceHeartbeatMs must be less than');
    });

    it('refuses a transport payload limit not above the protocol frame limit', () => {
      expect(loadError({ env: { TROUPE_GATEWAY__TRANSPORT_MAX_PAYLOAD_BYTES: '65536' } }).message).to.include('gateway.maxFrameBytes must be less than');
    });

    it('requires storage.url when storage.client is mysql', () => {
      expect(loadError({ env: { TROUPE_STORAGE__CLIENT: 'mysql' } }).message).to.include('storage.url must be set');
      const config = loadConfig({ env: { TROUPE_STORAGE__CLIENT: 'mysql', TROUPE_STORAGE__URL: 'mysql://u:p@127.0.0.1:3306/t' } });
      expect(config.storage.url).to.equal('mysql://u:p@127.0.0.1:3306/t');
    });
  });

  describe('compiled layout', () => {
    it('finds config/default.yaml from dist/config/load.js', async () => {
      // A package root as npm installs it: dist/ holds the JavaScript, config/ the YAML.
      for (const source of ['config/load.ts', 'config/env.ts', 'config/schema.ts', 'config/suggest.ts', 'config/validate.ts', 'transport/errors.ts']) {
        const output = ts.transpileModule(readFileSync(join(REPO, source), 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        const target = join(dir, 'dist', source.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, output);
      }
      mkdirSync(join(dir, 'config'));
      copyFileSync(join(REPO, 'config/default.yaml'), join(dir, 'config/default.yaml'));
      const yaml = readFileSync(join(dir, 'config/default.yaml'), 'utf8').replace('cluster: troupe ', 'cluster: packaged ');
      writeFileSync(join(dir, 'config/default.yaml'), yaml);
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
      symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');

      const compiled = (await import(pathToFileURL(join(dir, 'dist/config/load.js')).href)) as { loadConfig: typeof loadConfig };
      const config = compiled.loadConfig({ env: {} });
      expect(config.node.cluster).to.equal('packaged');
      expect(config.gateway.port).to.equal(8080);
    });
  });
});
