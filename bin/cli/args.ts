/**
 * The `troupe` command line: `troupe <command> [flags]`, flags as `--flag value` or
 * `--flag=value`. Parsing turns flags into dotted configuration overrides; their values are
 * checked here with the config schema's own rows (so `--port abc` fails before anything
 * loads) and checked again by config/load.ts with the rest of the configuration.
 *
 * Every mistake is a TroupeError('config') with one line that names the flag and the fix.
 */

import { CONFIG_SCHEMA, type ConfigKey } from '../../config/schema.js';
import { closest } from '../../config/suggest.js';
import { checkValue } from '../../config/validate.js';
import { TroupeError } from '../../transport/errors.js';

export type CommandName = 'dev' | 'migrate';

export interface FlagSpec {
  flag: `--${string}`;
  /** Placeholder of the value in help texts. */
  placeholder: string;
  /** The configuration key the flag sets, or 'configFile' for --config. */
  target: ConfigKey | 'configFile';
  /** A valid value, for help texts and error messages. */
  example: string;
  description: string;
}

export interface CommandSpec {
  summary: string;
  flags: readonly FlagSpec[];
}

const DATA_DIR: FlagSpec = {
  flag: '--data-dir', placeholder: 'DIR', target: 'dataDir', example: './data',
  description: 'folder of the SQLite database and signing keys',
};
const CONFIG: FlagSpec = {
  flag: '--config', placeholder: 'FILE', target: 'configFile', example: 'troupe.yaml',
  description: 'YAML file overriding config/default.yaml (same shape, only the keys you change)',
};

export const COMMANDS: Readonly<Record<CommandName, CommandSpec>> = {
  dev: {
    summary: 'run every role (gateway, logic, repo, task) in one process: the embedded mode',
    flags: [
      { flag: '--port', placeholder: 'N', target: 'gateway.port', example: '8080', description: 'port of the WebSocket/HTTP gateway; 0 picks a free one' },
      { flag: '--host', placeholder: 'HOST', target: 'gateway.host', example: '0.0.0.0', description: 'address the gateway listens on' },
      DATA_DIR,
      CONFIG,
      { flag: '--log-level', placeholder: 'LEVEL', target: 'logging.level', example: 'debug', description: 'error, warn, info or debug' },
    ],
  },
  migrate: {
    summary: 'apply the database migrations to the configured storage, then exit',
    flags: [DATA_DIR, CONFIG],
  },
};

const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

export type CliAction =
  /** Print help: of one command, or the general help when `command` is undefined. */
  | { kind: 'help'; command: CommandName | undefined }
  | { kind: 'version' }
  | { kind: 'run'; command: CommandName; configFile: string | undefined; overrides: Record<string, unknown> };

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
  const { flags } = COMMANDS[command];
  const see = `(see troupe ${command} --help)`;
  const overrides: Record<string, unknown> = {};
  let configFile: string | undefined;

  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('-')) throw usage(`unexpected argument "${token}" for "troupe ${command}" ${see}`);
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    const spec = flags.find((f) => f.flag === name);
    if (spec === undefined) {
      const near = closest(name, flags.map((f) => f.flag));
      const hint = near === undefined ? '' : `; did you mean ${near}?`;
      throw usage(`unknown flag ${name} for "troupe ${command}"${hint} ${see}`);
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
    const checked = checkValue(CONFIG_SCHEMA[spec.target], value, true);
    if (!checked.ok) {
      throw usage(`invalid value ${JSON.stringify(value)} for ${name} of "troupe ${command}": must be ${checked.rule}, e.g. ${name} ${spec.example}`);
    }
    overrides[spec.target] = checked.value;
  }
  return { kind: 'run', command, configFile, overrides };
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
