// Covers compose.yaml, Dockerfile and .dockerignore: the cluster users start with Docker.
// There is no Docker engine on the test machines, so the file is checked the way Compose
// itself reads it (Debian's docker-compose v1: `docker-compose config` validates the schema,
// resolves the YAML anchors and prints the effective file), and every node's environment is
// run through Troupe's own configuration loader, so a misspelt variable fails here instead of
// stopping a container with exit status 2.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ensurePrograms } from '../../bin/services/debian-packages.js';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import type { TroupeConfig } from '../../config/types.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const ROLES = ['gateway', 'logic', 'repo', 'task'] as const;
type Role = (typeof ROLES)[number];
/** The cluster of the issue: 2 gateways, 2 logic, 2 repo, 1 task. */
const ROLE_COUNTS: Record<Role, number> = { gateway: 2, logic: 2, repo: 2, task: 1 };
const INFRA = ['mysql', 'redis', 'etcd', 'kafka'] as const;

interface Service {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: Array<{ published?: number | string; target?: number }>;
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
}

interface Node {
  name: string;
  /** The troupe command the service runs: a role or `migrate`. */
  command: string;
  service: Service;
  env: NodeJS.ProcessEnv;
  config: TroupeConfig;
}

function commandOf(service: Service): string[] {
  const command = service.command ?? [];
  return typeof command === 'string' ? command.split(/\s+/) : command;
}

function envOf(service: Service): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(service.environment ?? {})) env[name] = value === null ? '' : String(value);
  return env;
}

/** "20s", "1m30s", "1500ms" → seconds. */
function durationSeconds(text: string): number {
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  let total = 0;
  for (const [, amount, u] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)) total += Number(amount) * unit[u!]!;
  return total;
}

/** The Dockerfile's instructions: continuation lines joined, comments and blank lines dropped. */
function dockerInstructions(text: string): Array<{ op: string; args: string }> {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('compose.yaml (parsed by docker-compose config)', function () {
  let services: Record<string, Service>;
  let nodes: Node[];
  const rolesOf = (role: string): Node[] => nodes.filter((n) => n.command === role);

  before(async function () {
    // The first run on a fresh machine installs docker-compose (root only; otherwise a message says how).
    this.timeout(600_000);
    const [compose] = (await ensurePrograms(['docker-compose'], ['docker-compose'], 'docker-compose')) as [string];
    const env: NodeJS.ProcessEnv = { ...process.env };
    // The caller's Compose settings must not change what the file means.
    for (const name of Object.keys(env)) if (name.startsWith('COMPOSE_') || name.startsWith('DOCKER_')) delete env[name];
    let stdout: string;
    try {
      ({ stdout } = await run(compose, ['-f', 'compose.yaml', 'config'], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }));
    } catch (err) {
      const { stderr, code } = err as { stderr?: string; code?: unknown };
      throw new Error(`docker-compose -f compose.yaml config exited ${String(code)}: ${stderr ?? (err as Error).message}`);
    }
    services = (parseYaml(stdout) as { services: Record<string, Service> }).services;
    nodes = Object.entries(services)
      .filter(([, s]) => s.image !== undefined && s.image === services.migrate?.image)
      .map(([name, service]) => {
        const env = envOf(service);
        let config: TroupeConfig | undefined;
        return {
          name, command: commandOf(service)[0] ?? '', service, env,
          // Loaded on first use, so that a bad variable fails the tests that read it, not the hook.
          get config(): TroupeConfig {
            return (config ??= loadConfig({ env }));
          },
        };
      });
  });

  it('defines MySQL, Redis, etcd, Kafka, the topic and migration one-shots, and 2 gateway, 2 logic, 2 repo and 1 task nodes', function () {
    expect(Object.keys(services)).to.include.members([...INFRA, 'kafka-init', 'migrate']);
    expect(services.mysql?.image).to.match(/^mysql:8\./);
    expect(services.redis?.image).to.match(/^redis:7/);
    expect(services.etcd?.image).to.match(/^quay\.io\/coreos\/etcd:v3\.5\./);
    expect(services.kafka?.image).to.match(/^apache\/kafka:3\.8\./);
    expect(services.kafka?.environment?.KAFKA_PROCESS_ROLES).to.equal('broker,controller');
    expect(commandOf(services.migrate!)).to.deep.equal(['migrate']);
    for (const role of ROLES) expect(rolesOf(role).map((n) => n.name), role).to.have.length(ROLE_COUNTS[role]);
    expect(nodes.every((n) => n.command === 'migrate' || (ROLES as readonly string[]).includes(n.command)), 'troupe services run a role or migrate').to.equal(true);
  });

  it('builds every troupe service from the Dockerfile at the repository root, under one image tag', function () {
    expect(nodes.length).to.equal(1 + Object.values(ROLE_COUNTS).reduce((a, b) => a + b, 0));
    for (const { name, service } of nodes) {
      expect(service.build?.context?.replace(/\/$/, ''), name).to.equal(ROOT.replace(/\/$/, ''));
      expect(service.build?.dockerfile ?? 'Dockerfile', name).to.equal('Dockerfile');
      expect(service.image, name).to.equal(services.migrate!.image);
    }
  });

  it('checks each node with /readyz on the port that node serves it on, restarts it, and lets it drain before a kill', function () {
    for (const node of nodes.filter((n) => n.command !== 'migrate')) {
      const port = node.command === 'gateway' ? node.config.gateway.port : node.config.ops.port;
      const test = node.service.healthcheck?.test;
      expect(node.service.healthcheck?.disable, node.name).to.not.equal(true);
      expect(Array.isArray(test) ? test.join(' ') : test, node.name).to.include(`http://127.0.0.1:${port}/readyz`);
      expect(node.service.restart, node.name).to.be.oneOf(['always', 'unless-stopped', 'on-failure']);
      // Compose's default of 10 s would SIGKILL a node in the middle of its drain.
      expect(durationSeconds(node.service.stop_grace_period ?? '10s'), node.name).to.be.greaterThan(node.config.shutdown.drainTimeoutMs / 1000);
    }
  });

  it('starts nodes only after healthy infrastructure, created topics and a successful migration', function () {
    const healthy = { condition: 'service_healthy' };
    const completed = { condition: 'service_completed_successfully' };
    expect(services.migrate?.depends_on?.mysql).to.deep.equal(healthy);
    expect(services['kafka-init']?.depends_on?.kafka).to.deep.equal(healthy);
    for (const node of nodes.filter((n) => n.command !== 'migrate')) {
      const deps = node.service.depends_on ?? {};
      for (const infra of ['etcd', 'redis', 'kafka']) expect(deps[infra], `${node.name} → ${infra}`).to.deep.equal(healthy);
      expect(deps['kafka-init'], `${node.name} → kafka-init`).to.deep.equal(completed);
      expect(deps.migrate, `${node.name} → migrate`).to.deep.equal(completed);
    }
    for (const repo of rolesOf('repo')) expect(repo.service.depends_on?.mysql, repo.name).to.deep.equal(healthy);
    // Waiting for service_healthy on a service without a healthcheck would never end.
    for (const [name, service] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dep], `${name} depends on ${dep}`).to.not.equal(undefined);
        if (condition === 'service_healthy') expect(services[dep]?.healthcheck?.test, `${dep}'s healthcheck, awaited by ${name}`).to.not.equal(undefined);
      }
    }
  });

  it('sets only TROUPE_ variables that name configuration keys, with values the schema accepts', function () {
    for (const { name, env } of nodes) {
      const variables = Object.keys(env);
      expect(variables.filter((v) => v === 'PORT'), `${name} sets PORT`).to.deep.equal([]);
      // readEnv throws TroupeError('config') naming an unknown variable (and the nearest key).
      const troupeVariables = Object.fromEntries(variables.filter((v) => v.startsWith('TROUPE_')).map((v) => [v, env[v]]));
      expect(() => readEnv(troupeVariables), name).to.not.throw();
      expect(readEnv(troupeVariables).map((k) => k.variable).sort(), name).to.deep.equal(Object.keys(troupeVariables).sort());
      expect(() => loadConfig({ env }), name).to.not.throw();
    }
  });

  it('points every node at the compose services, with the MySQL credentials the mysql service creates', function () {
    const mysqlEnv = envOf(services.mysql!);
    const kafkaListener = String(services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS ?? '');
    for (const { name, command, config } of nodes) {
      expect(config.storage.client, name).to.equal('mysql');
      const url = new URL(config.storage.url);
      expect([url.protocol, url.hostname, url.username, decodeURIComponent(url.password), url.pathname], name).to.deep.equal([
        'mysql:', 'mysql', mysqlEnv.MYSQL_USER, mysqlEnv.MYSQL_PASSWORD, `/${mysqlEnv.MYSQL_DATABASE}`,
      ]);
      if (command === 'migrate') continue;
      for (const broker of config.cluster.brokers.split(',')) expect(kafkaListener, `${name} broker ${broker}`).to.include(`//${broker}`);
      for (const endpoint of config.cluster.etcd.split(',')) expect(new URL(endpoint).hostname, name).to.equal('etcd');
      expect(new URL(config.cluster.redisUrl).hostname, name).to.equal('redis');
      expect(config.cluster.kafkaControllerFallback, `${name}: the fallback is for the mock broker only`).to.equal(false);
    }
  });

  it('gives every node its own stable id and each repo node an advertise address the others can dial', function () {
    const roleNodes = nodes.filter((n) => n.command !== 'migrate');
    const ids = roleNodes.map((n) => n.env.TROUPE_NODE__ID ?? '');
    expect(ids.every((id) => id !== ''), 'every node sets TROUPE_NODE__ID').to.equal(true);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(new Set(roleNodes.map((n) => n.config.node.cluster)).size, 'one cluster name').to.equal(1);
    for (const repo of rolesOf('repo')) expect(repo.config.rpc.advertise, repo.name).to.equal(`${repo.name}:${repo.config.rpc.port}`);
  });

  it('creates im-upstream, im-task and the dead-letter topic with the names and partition counts the nodes are configured with', function () {
    const init = services['kafka-init']!;
    const script = [...commandOf({ command: init.entrypoint ?? [] }), ...commandOf(init)].join(' ');
    const created = new Map<string, number>();
    for (const [, topic, partitions] of script.matchAll(/--topic\s+(\S+)\s+--partitions\s+(\d+)/g)) created.set(topic!, Number(partitions));
    const { log } = rolesOf('logic')[0]!.config;
    expect(Object.fromEntries(created)).to.deep.equal({ [log.upstreamTopic]: log.upstreamPartitions, [log.taskTopic]: log.taskPartitions, [log.deadLetterTopic]: 1 });
    expect(script).to.include('--if-not-exists');
    for (const node of nodes) {
      expect([node.config.log.upstreamTopic, node.config.log.upstreamPartitions], node.name).to.deep.equal([log.upstreamTopic, log.upstreamPartitions]);
    }
  });

  it('has every node advertise an ops URL other containers reach, on the port it serves ops at', function () {
    for (const node of nodes.filter((n) => n.command !== 'migrate')) {
      const port = node.name.startsWith('gateway') ? node.config.gateway.port : node.config.ops.port;
      expect(node.config.ops.advertise, node.name).to.equal(`http://${node.name}:${port}`);
    }
  });

  it('publishes the two gateways on host ports 8080 and 8081 and shares their signing keys', function () {
    const gateways = rolesOf('gateway');
    const published = gateways.flatMap((g) => (g.service.ports ?? []).map((p) => ({ published: Number(p.published), target: p.target, port: g.config.gateway.port })));
    expect(published.map((p) => p.published).sort()).to.deep.equal([8080, 8081]);
    for (const p of published) expect(p.target).to.equal(p.port);
    const keyVolumes = gateways.map((g) => (g.service.volumes ?? []).find((v) => v.split(':')[1] === g.config.auth.keysDir));
    expect(keyVolumes.every((v) => v !== undefined), 'each gateway mounts a volume on auth.keysDir').to.equal(true);
    expect(new Set(keyVolumes.map((v) => v!.split(':')[0])).size, 'one volume for all gateways').to.equal(1);
  });
});

describe('Dockerfile', function () {
  let instructions: Array<{ op: string; args: string }>;
  /** The instructions after the last FROM: what the runtime image is made of. */
  let runtime: Array<{ op: string; args: string }>;

  before(async function () {
    instructions = dockerInstructions(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
    const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM');
    runtime = instructions.slice(lastFrom);
  });

  it('builds in stages on node:20-bookworm-slim with npm ci and npm run build', async function () {
    const froms = instructions.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0]);
    expect(froms.length).to.be.at.least(2);
    for (const from of froms) expect(from).to.equal('node:20-bookworm-slim');
    const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(runs).to.include('npm ci');
    expect(runs).to.include('npm run build');
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8').catch(() => '{}')) as { scripts?: Record<string, string> };
    expect(pkg.scripts?.build, 'package.json build script').to.match(/\btsc\b/);
  });

  it('runs node dist/bin/troupe.js directly, as a non-root user, stopped with SIGTERM', function () {
    const last = (op: string): string | undefined => runtime.filter((i) => i.op === op).at(-1)?.args;
    expect(JSON.parse(last('ENTRYPOINT') ?? 'null')).to.deep.equal(['node', 'dist/bin/troupe.js']);
    expect(last('USER')).to.be.a('string').and.not.match(/^(root|0)(:|$)/);
    expect(last('STOPSIGNAL')).to.equal('SIGTERM');
  });

  it('copies into the runtime image every file a node reads, and sets only known TROUPE_ variables', function () {
    const copied = runtime.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).at(-1)!.replace(/^\.\//, '').replace(/\/$/, ''));
    expect(copied).to.include.members(['package.json', 'node_modules', 'dist', 'config/default.yaml', 'web']);
    const env: NodeJS.ProcessEnv = {};
    for (const { args } of runtime.filter((i) => i.op === 'ENV')) {
      for (const [, name, value] of args.matchAll(/(\w+)=(\S+)/g)) env[name!] = value;
    }
    expect(() => loadConfig({ env })).to.not.throw();
  });

  it('keeps the working tree\'s node_modules and dist out of the build context', async function () {
    const ignored = (await readFile(join(ROOT, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim().replace(/^\/|\/$/g, ''));
    expect(ignored).to.include.members(['node_modules', 'dist']);
  });

  it('loads every command a container runs from the image\'s files alone (no spec/, bench/ or docs/)', async function () {
    this.timeout(30_000);
    // The image holds what tsconfig.json compiles plus the runtime files; the sources stand in
    // for dist/ here (same layout one level up), so a module that reads a file the image lacks
    // at import time fails the same way.
    const tsconfig = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const dir = await mkdtemp(join(tmpdir(), 'troupe-image-files-'));
    try {
      for (const entry of [...tsconfig.include, 'web', 'package.json', 'tsconfig.json']) {
        await cp(join(ROOT, entry), join(dir, entry), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      }
      await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      const commands = ['migrate', ...ROLES];
      const script = `const failed = [];
        for (const c of ${JSON.stringify(commands)}) {
          try { await import('./bin/commands/' + c + '.js'); } catch (err) { failed.push(c + ': ' + (err?.message ?? err).split('\\n')[0]); }
        }
        process.stdout.write(JSON.stringify(failed));`;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
      expect(JSON.parse(stdout) as string[]).to.deep.equal([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
