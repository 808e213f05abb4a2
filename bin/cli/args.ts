/**
 * The `troupe` command line: `troupe <command> [flags]`, flags as `--flag value` or
 * `--flag=value`. Parsing turns flags into dotted configuration overrides; their values are
 * checked here with the config schema's own rows (so `--port abc` fails before anything
 * loads) and checked again by config/load.ts with the rest of the configuration.
 *
 * Every mistake is a TroupeError('config') with one line that names the flag and the fix.
 */

import { LIVE_KEYS } from '../../config/live-keys.js';
import { CONFIG_SCHEMA, type ConfigKey } from '../../config/schema.js';
import { closest } from '../../config/suggest.js';
import { checkValue } from '../../config/validate.js';
import { TroupeError } from '../../transport/errors.js';

export type CommandName = 'dev' | 'migrate' | 'gateway' | 'logic' | 'repo' | 'task' | 'local-cluster' | 'config' | 'status';

export interface FlagSpec {
  flag: `--${string}`;
  /** Placeholder of the value in help texts; empty for a switch. */
  placeholder: string;
  /**
   * The configuration key the flag sets, 'configFile' for --config, or a command option that is
   * not configuration: an integer (e.g. local-cluster's --gateways), a switch without a value
   * (e.g. --json) or a text the command reads (e.g. status's --url).
   */
  target: ConfigKey | 'configFile' | CommandOption | CommandSwitch | CommandText;
  /** A valid value, for help texts and error messages; empty for a switch. */
  example: string;
  description: string;
}

export interface CommandOption {
  option: string;
  min: number;
  max: number;
  default?: number;
}

/** A flag that takes no value: `flags[name]` is true when it is given. */
export interface CommandSwitch {
  switch: string;
}

/** A flag whose value is text for the command, not configuration: `flags[name]` holds it. */
export interface CommandText {
  text: string;
  /** What a valid value is, in the words of the error message ("must be …"). */
  rule: string;
  valid(value: string): boolean;
}

export interface CommandSpec {
  summary: string;
  flags: readonly FlagSpec[];
  /**
   * The words a command takes besides flags, in help's words (e.g. `get KEY | list`); a
   * command without it refuses any. The command checks them itself.
   */
  operands?: string;
  /** Paragraphs added to the command's help. */
  notes?: readonly string[];
  /** The command's own exit statuses, in place of the general line in its help. */
  exit?: string;
}

const DATA_DIR: FlagSpec = {
  flag: '--data-dir', placeholder: 'DIR', target: 'dataDir', example: './data',
  description: 'folder of the SQLite database and signing keys',
};
const CONFIG: FlagSpec = {
  flag: '--config', placeholder: 'FILE', target: 'configFile', example: 'troupe.yaml',
  description: 'YAML file overriding config/default.yaml (same shape, only the keys you change)',
};

const LOG_LEVEL: FlagSpec = { flag: '--log-level', placeholder: 'LEVEL', target: 'logging.level', example: 'debug', description: 'error, warn, info or debug' };

/** Flags every cluster role takes: who it is and where the shared services are. */
const CLUSTER_FLAGS: readonly FlagSpec[] = [
  { flag: '--node-id', placeholder: 'ID', target: 'node.id', example: 'logic-1', description: 'this node\'s id, unique in the cluster (default <hostname>-<pid>)' },
  { flag: '--cluster', placeholder: 'NAME', target: 'node.cluster', example: 'troupe', description: 'cluster name, the prefix of its etcd keys' },
  { flag: '--brokers', placeholder: 'LIST', target: 'cluster.brokers', example: 'kafka1:9092,kafka2:9092', description: 'Kafka bootstrap brokers' },
  { flag: '--etcd', placeholder: 'URLS', target: 'cluster.etcd', example: 'http://etcd1:2379', description: 'etcd endpoints' },
  CONFIG,
  LOG_LEVEL,
];
const REDIS: FlagSpec = { flag: '--redis', placeholder: 'URL', target: 'cluster.redisUrl', example: 'redis://redis:6379', description: 'Redis URL (presence)' };
const OPS_PORT: FlagSpec = { flag: '--ops-port', placeholder: 'N', target: 'ops.port', example: '9090', description: 'port of /healthz, /readyz and /metrics; 0 picks a free one' };
const RPC_FLAGS: readonly FlagSpec[] = [
  { flag: '--rpc-deadline', placeholder: 'MS', target: 'rpc.deadlineMs', example: '3000', description: 'deadline of every gRPC call to the repo nodes' },
];
const count = (option: string, min: number, description: string, defaultValue: number): FlagSpec => ({
  flag: `--${option}`, placeholder: 'N', target: { option, min, max: 16, default: defaultValue }, example: '2', description,
});

export const COMMANDS: Readonly<Record<CommandName, CommandSpec>> = {
  dev: {
    summary: 'run every role (gateway, logic, repo, task) in one process: the embedded mode',
    flags: [
      { flag: '--port', placeholder: 'N', target: 'gateway.port', example: '8080', description: 'port of the WebSocket/HTTP gateway; 0 picks a free one' },
      { flag: '--host', placeholder: 'HOST', target: 'gateway.host', example: '0.0.0.0', description: 'address the gateway listens on' },
      DATA_DIR,
      CONFIG,
      LOG_LEVEL,
    ],
  },
  migrate: {
    summary: 'apply the database migrations to the configured storage, then exit',
    flags: [DATA_DIR, CONFIG, { flag: '--mysql', placeholder: 'URL', target: 'storage.url', example: 'mysql://troupe:secret@mysql:3306/troupe', description: 'MySQL database (with storage.client mysql)' }],
  },
  gateway: {
    summary: 'cluster role: hold WebSocket connections and serve the HTTP API; consumes im-downstream-<node id>',
    flags: [
      ...CLUSTER_FLAGS,
      REDIS,
      { flag: '--port', placeholder: 'N', target: 'gateway.port', example: '8080', description: 'port of the WebSocket/HTTP server (also /healthz, /readyz, /metrics)' },
      { flag: '--host', placeholder: 'HOST', target: 'gateway.host', example: '0.0.0.0', description: 'address it listens on' },
      { flag: '--keys-dir', placeholder: 'DIR', target: 'auth.keysDir', example: '/run/troupe/keys', description: 'signing keys folder, shared by every gateway' },
      ...RPC_FLAGS,
    ],
  },
  logic: {
    summary: 'cluster role: session and conversation actors fed from the im-upstream partitions it is assigned',
    flags: [...CLUSTER_FLAGS, REDIS, OPS_PORT, ...RPC_FLAGS],
  },
  repo: {
    summary: 'cluster role: serve storage over gRPC for the repo shards it owns (MySQL)',
    flags: [
      ...CLUSTER_FLAGS,
      { flag: '--mysql', placeholder: 'URL', target: 'storage.url', example: 'mysql://troupe:secret@mysql:3306/troupe', description: 'MySQL database' },
      { flag: '--rpc-port', placeholder: 'N', target: 'rpc.port', example: '7070', description: 'port of the gRPC server' },
      { flag: '--rpc-advertise', placeholder: 'HOST:PORT', target: 'rpc.advertise', example: 'repo1:7070', description: 'address other nodes dial' },
      OPS_PORT,
    ],
  },
  task: {
    summary: 'cluster role: fanout workers for groups over the large-group threshold (consumes im-task)',
    flags: [...CLUSTER_FLAGS, REDIS, OPS_PORT, ...RPC_FLAGS],
  },
  'local-cluster': {
    summary: 'start MariaDB, Redis, etcd, the Kafka mock and every role as processes on this machine; Ctrl-C stops it all',
    flags: [
      count('gateways', 1, 'gateway processes', 2),
      count('logic', 1, 'logic processes', 2),
      count('repo', 1, 'repo processes', 2),
      count('task', 0, 'task processes', 1),
      { flag: '--base-port', placeholder: 'P', target: { option: 'basePort', min: 1024, max: 65000 }, example: '8080', description: 'gateways listen on P, P+1, …; other ports follow (default: free ports)' },
      { flag: '--no-restart', placeholder: '', target: { switch: 'noRestart' }, example: '', description: 'a role process that ends is reported and left dead, not started again (fault drills)' },
      CONFIG,
    ],
  },
  config: {
    summary: 'show or change the runtime configuration in etcd, which every node of the cluster applies live',
    operands: '<get KEY | set KEY VALUE | unset KEY | list>',
    flags: [
      { flag: '--etcd', placeholder: 'URLS', target: 'cluster.etcd', example: 'http://etcd1:2379', description: 'etcd endpoints' },
      { flag: '--cluster', placeholder: 'NAME', target: 'node.cluster', example: 'troupe', description: 'cluster name, the prefix of its etcd keys' },
      CONFIG,
    ],
    notes: [
      'Subcommands:\n' +
        '  get KEY          print the value in etcd, or "<value> (default)" when etcd has none\n' +
        '  set KEY VALUE    store a value (checked first); every node applies it within moments\n' +
        '  unset KEY        remove it: every node goes back to the value it started with\n' +
        '  list             every live key, its value, and whether it is set in etcd or the default\n' +
        '"(default)" values are this command\'s own configuration (default.yaml, --config, environment);\n' +
        'a node started with other values keeps those until a key is set.',
      `Live keys (any other key takes a restart):\n${LIVE_KEYS.map((key) => `  ${key}`).join('\n')}`,
    ],
  },
  status: {
    summary: 'show every node and placement unit of a cluster, from etcd and each node\'s /units; exit 1 if one is not right',
    flags: [
      { flag: '--etcd', placeholder: 'URLS', target: 'cluster.etcd', example: 'http://etcd1:2379', description: 'etcd endpoints of the cluster' },
      { flag: '--cluster', placeholder: 'NAME', target: 'node.cluster', example: 'troupe', description: 'cluster name, the prefix of its etcd keys' },
      {
        flag: '--url', placeholder: 'URL', example: 'http://127.0.0.1:8080',
        target: { text: 'url', rule: 'an http:// or https:// URL with a host', valid: isHttpUrl },
        description: 'ask one server instead of a cluster: an embedded server, or one node\'s ops address',
      },
      { flag: '--json', placeholder: '', target: { switch: 'json' }, example: '', description: 'print the same report as JSON' },
      { flag: '--timeout', placeholder: 'MS', target: { option: 'timeoutMs', min: 50, max: 60_000, default: 2000 }, example: '2000', description: 'longest wait for etcd and for each node\'s answer' },
      CONFIG,
    ],
    notes: [
      'Reads the nodes (/troupe/<cluster>/nodes/<role>/<id>: role, id, lease, ops address) and the claims\n' +
        '(/troupe/<cluster>/claims/<unit>: owner, epoch) from etcd, then asks every node\'s /units and /metrics.\n' +
        'Prints one row per node (ready, or why not) and one per unit: upstream/<p>, task/<p>, repo/<shard>\n' +
        '(as many as log.upstreamPartitions, log.taskPartitions and repo.shards of this command\'s\n' +
        'configuration say), with its owner, epoch, state, time in that state, records in flight, age of\n' +
        'the oldest unfinished one, records parked and consumer lag. A unit no node claims is UNCLAIMED;\n' +
        'a node that does not answer within --timeout is shown as such. Then the problems, one a line.',
    ],
    exit: 'Exit status: 0 when every unit is claimed and hosted and every node is ready; 1 otherwise, or when\n' +
      'etcd or the --url server cannot be reached; 2 for an invalid command line.',
  },
};

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

export type CliAction =
  /** Print help: of one command, or the general help when `command` is undefined. */
  | { kind: 'help'; command: CommandName | undefined }
  | { kind: 'version' }
  | {
    kind: 'run';
    command: CommandName;
    configFile: string | undefined;
    overrides: Record<string, unknown>;
    options: Record<string, number>;
    /** The words besides flags, in order; only for a command that takes them (CommandSpec.operands). */
    operands?: string[];
    /**
     * Switches given (true) and texts (their value), by name; only for a command that has such
     * flags (CommandSwitch, CommandText).
     */
    flags?: Record<string, string | true>;
  };

/** Parses the arguments after `troupe` (process.argv.slice(2)). */
export function parseArgs(argv: readonly string[]): CliAction {
  const first = argv[0];
  if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help', command: knownCommand(first) };
  if (argv.includes('--version')) return { kind: 'version' };
  if (first === undefined) return { kind: 'help', command: undefined };
  if (first.startsWith('-')) throw usage(`flag ${first} must come after a command, e.g. troupe dev ${first} ... (see troupe --help)`);
  if (first === 'help') return parseHelp(argv.slice(1));
  return parseRun(commandOf(first), argv.slice(1));
}

function parseHelp(rest: readonly string[]): CliAction {
  if (rest.length > 1) throw usage(`unexpected argument "${rest[1]}" for "troupe help" (usage: troupe help [command])`);
  return { kind: 'help', command: rest[0] === undefined ? undefined : commandOf(rest[0]) };
}

function parseRun(command: CommandName, rest: readonly string[]): CliAction {
  const { flags, operands: takesOperands } = COMMANDS[command];
  const see = `(see troupe ${command} --help)`;
  const overrides: Record<string, unknown> = {};
  const options: Record<string, number> = {};
  for (const f of flags) if (typeof f.target === 'object' && 'option' in f.target && f.target.default !== undefined) options[f.target.option] = f.target.default;
  const takesFlags = flags.some((f) => typeof f.target === 'object' && !('option' in f.target));
  const given: Record<string, string | true> = {};
  let configFile: string | undefined;
  const operands: string[] = [];

  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('-')) {
      if (takesOperands === undefined) throw usage(`unexpected argument "${token}" for "troupe ${command}" ${see}`);
      operands.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    const spec = flags.find((f) => f.flag === name);
    if (spec === undefined) {
      const near = closest(name, flags.map((f) => f.flag));
      const hint = near === undefined ? '' : `; did you mean ${near}?`;
      throw usage(`unknown flag ${name} for "troupe ${command}"${hint} ${see}`);
    }

    if (typeof spec.target === 'object' && 'switch' in spec.target) {
      if (eq !== -1) throw usage(`${name} of "troupe ${command}" takes no value: write ${name} alone ${see}`);
      given[spec.target.switch] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = token.slice(eq + 1);
    else if (rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('--')) value = rest[++i];
    if (value === undefined || value === '') {
      throw usage(`missing value for ${name} of "troupe ${command}", e.g. ${name} ${spec.example} ${see}`);
    }

    if (spec.target === 'configFile') {
      configFile = value;
      continue;
    }
    if (typeof spec.target === 'object' && 'text' in spec.target) {
      if (!spec.target.valid(value)) {
        throw usage(`invalid value ${JSON.stringify(value)} for ${name} of "troupe ${command}": must be ${spec.target.rule}, e.g. ${name} ${spec.example}`);
      }
      given[spec.target.text] = value;
      continue;
    }
    if (typeof spec.target === 'object') {
      const { option, min, max } = spec.target;
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        throw usage(`invalid value ${JSON.stringify(value)} for ${name} of "troupe ${command}": must be an integer from ${min} to ${max}, e.g. ${name} ${spec.example}`);
      }
      options[option] = n;
      continue;
    }
    const checked = checkValue(CONFIG_SCHEMA[spec.target], value, true);
    if (!checked.ok) {
      throw usage(`invalid value ${JSON.stringify(value)} for ${name} of "troupe ${command}": must be ${checked.rule}, e.g. ${name} ${spec.example}`);
    }
    overrides[spec.target] = checked.value;
  }
  return { kind: 'run', command, configFile, overrides, options, ...(takesOperands === undefined ? {} : { operands }), ...(takesFlags ? { flags: given } : {}) };
}

function knownCommand(word: string | undefined): CommandName | undefined {
  return word !== undefined && (COMMAND_NAMES as string[]).includes(word) ? (word as CommandName) : undefined;
}

function commandOf(word: string): CommandName {
  const command = knownCommand(word);
  if (command !== undefined) return command;
  const near = closest(word, [...COMMAND_NAMES, 'help']);
  const hint = near === undefined ? '' : `; did you mean ${near}?`;
  throw usage(`unknown command "${word}"${hint} (commands: ${COMMAND_NAMES.join(', ')}, help; see troupe --help)`);
}

function usage(message: string): TroupeError {
  return new TroupeError('config', message);
}
