/**
 * Help texts of `troupe --help` and `troupe <command> --help`. Flags are
 * listed from the parser's own table (bin/cli/args.ts), so help cannot drift from parsing.
 */

import { COMMANDS, type CommandName, type FlagSpec } from './args.js';

const ENVIRONMENT = `Environment (overrides the config file; flags override the environment):
  PORT                       gateway port, like TROUPE_GATEWAY__PORT (which wins if both are set)
  TROUPE_DATA_DIR            folder of the SQLite database and signing keys (default ./data)
  TROUPE_<SECTION>__<KEY>    any configuration key of config/default.yaml: levels joined by "__",
                             names in SCREAMING_SNAKE, e.g. TROUPE_GATEWAY__RATE_LIMIT__BURST=100,
                             TROUPE_STORAGE__CLIENT=mysql, TROUPE_LOGGING__LEVEL=debug.
                             An unknown TROUPE_ variable is an error.`;

const CONFIGURATION = `Configuration, lowest precedence first: config/default.yaml, the --config file,
the environment, command-line flags. Every value is validated; an invalid one stops troupe
with exit status 2 and a message naming the key and where the value came from.`;

const EXIT = 'Exit status: 0 done, 1 failed, 2 invalid command line or configuration.';

export function helpText(command: CommandName | undefined): string {
  return command === undefined ? generalHelp() : commandHelp(command);
}

function generalHelp(): string {
  const rows = Object.entries(COMMANDS).map(([name, spec]) => [name, spec.summary] as const);
  rows.push(['bench <scenario>', 'measure a Troupe (or a peer) from outside: connect, direct, group, sync, ramp, compare (troupe bench --help)']);
  rows.push(['help [command]', 'show this help, or the help of one command']);
  return [
    'troupe: a distributed instant-messaging server',
    '',
    'Usage: troupe <command> [flags]',
    '',
    'Commands:',
    ...table(rows),
    '',
    'Global flags:',
    ...table([
      ['-h, --help', 'show help (after a command: that command\'s help)'],
      ['--version', 'print the version'],
    ]),
    '',
    CONFIGURATION,
    '',
    ENVIRONMENT,
    '',
    EXIT,
    '',
  ].join('\n');
}

function commandHelp(command: CommandName): string {
  const spec = COMMANDS[command];
  return [
    `troupe ${command}: ${spec.summary}`,
    '',
    `Usage: troupe ${command} [flags]${spec.operands === undefined ? '' : ` ${spec.operands}`}`,
    '',
    'Flags (as --flag value or --flag=value):',
    ...table([...spec.flags.map(flagRow), ['-h, --help', 'show this help']]),
    '',
    ...(spec.notes ?? []).flatMap((note) => [note, '']),
    ENVIRONMENT,
    '',
    spec.exit ?? EXIT,
    '',
  ].join('\n');
}

function flagRow(flag: FlagSpec): readonly [string, string] {
  const key = flag.target === 'configFile' ? ''
    : typeof flag.target === 'object' ? ('option' in flag.target && flag.target.default !== undefined ? ` (default ${flag.target.default})` : '')
    : ` (${flag.target})`;
  return [flag.placeholder === '' ? flag.flag : `${flag.flag} ${flag.placeholder}`, `${flag.description}${key}`];
}

function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length)) + 3;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
}
