/**
 * `troupe config get KEY | set KEY VALUE | unset KEY | list`: the runtime configuration of a
 * cluster in etcd, under `/troupe/<cluster>/config/<key>` (config/live-keys.ts), which every
 * node watches and applies live (config/live-config.ts).
 *
 * A key that is not live, or a value its rule refuses, is a TroupeError('config') thrown before
 * etcd is contacted: bin/troupe.ts prints it as one line and exits 2. An etcd that cannot be
 * reached is one line on stderr and exit status 1, not a stack: the operator's next step is to
 * check the address, not to read a trace.
 */
import { readConfigValue } from '../../config/config-path.js';
import { checkLiveValue, isLiveKey, LIVE_KEYS, liveConfigPrefix, liveValueText, type LiveKey } from '../../config/live-keys.js';
import { CONFIG_SCHEMA } from '../../config/schema.js';
import { closest } from '../../config/suggest.js';
import type { TroupeConfig } from '../../config/types.js';
import { EtcdCoordinator } from '../../transport/coord/etcd.js';
import type { Coordinator } from '../../transport/coord/port.js';
import { isTroupeError, TroupeError } from '../../transport/errors.js';
import { requireList } from '../cluster/settings.js';
import { STANDARD_OUTPUT, type CommandOutput } from '../cli/output.js';

/** Deadline of each etcd call: an operator's command should fail fast when etcd is away. */
const CALL_TIMEOUT_MS = 2000;
const SEE = '(see troupe config --help)';

type Subcommand =
  | { name: 'get'; key: LiveKey }
  | { name: 'set'; key: LiveKey; text: string }
  | { name: 'unset'; key: LiveKey }
  | { name: 'list' };

/** Runs the command; resolves to the exit status (0, or 1 when etcd cannot be reached). */
export async function runConfig(config: TroupeConfig, operands: readonly string[], output: CommandOutput = STANDARD_OUTPUT): Promise<number> {
  const command = parseSubcommand(operands, config);
  const endpoints = requireList(config, 'etcd', 'config');
  const coord = new EtcdCoordinator({ endpoints, callTimeoutMs: CALL_TIMEOUT_MS });
  try {
    await perform(command, coord, config, output.out);
    return 0;
  } catch (err) {
    if (isTroupeError(err, 'unavailable') || isTroupeError(err, 'timeout')) {
      output.err(`troupe: cannot reach etcd at ${endpoints.join(',')} (${err.code}); check --etcd or TROUPE_CLUSTER__ETCD and that etcd is running`);
      return 1;
    }
    throw err;
  } finally {
    await coord.close();
  }
}

async function perform(command: Subcommand, coord: Coordinator, config: TroupeConfig, out: (line: string) => void): Promise<void> {
  const prefix = liveConfigPrefix(config.node.cluster);
  switch (command.name) {
    case 'get': {
      const kv = await coord.get(prefix + command.key);
      out(kv === null ? `${liveValueText(readConfigValue(config, command.key))} (default)` : shownStored(command.key, kv.value, config));
      return;
    }
    case 'set':
      await coord.put(prefix + command.key, command.text);
      out(`${command.key} = ${command.text}`);
      return;
    case 'unset':
      await coord.delete(prefix + command.key);
      out(`${command.key} unset; nodes go back to the value they started with`);
      return;
    case 'list': {
      const { kvs } = await coord.getPrefix(prefix);
      const stored = new Map(kvs.map((kv) => [kv.key.slice(prefix.length), kv.value]));
      const rows = LIVE_KEYS.map((key) => {
        const text = stored.get(key);
        return text === undefined ? [key, liveValueText(readConfigValue(config, key)), 'default'] : [key, ...storedColumns(key, text, config)];
      });
      const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
      for (const row of rows) out(`${row[0]!.padEnd(widths[0]! + 2)}${row[1]!.padEnd(widths[1]! + 2)}${row[2]!}`);
      return;
    }
  }
}

/** A stored value as `get` prints it: the text, with a note if nodes ignore it. */
function shownStored(key: LiveKey, text: string, config: TroupeConfig): string {
  const [value, source] = storedColumns(key, text, config);
  return source === 'etcd' ? value : `${value} (${source})`;
}

function storedColumns(key: LiveKey, text: string, config: TroupeConfig): [string, string] {
  const checked = checkLiveValue(key, text, config);
  return checked.ok ? [text, 'etcd'] : [JSON.stringify(text), `etcd, invalid: must be ${checked.rule}; nodes ignore it`];
}

/** Checks the words after `troupe config`: everything is refused here, before etcd is asked. */
function parseSubcommand(operands: readonly string[], config: TroupeConfig): Subcommand {
  const [name, ...rest] = operands;
  const arity = (count: number, usage: string): void => {
    if (rest.length !== count) throw usageError(`"troupe config ${name}" takes ${usage} ${SEE}`);
  };
  switch (name) {
    case 'get':
      arity(1, 'one key, e.g. troupe config get logging.level');
      return { name, key: liveKey(rest[0]!) };
    case 'unset':
      arity(1, 'one key, e.g. troupe config unset logging.level');
      return { name, key: liveKey(rest[0]!) };
    case 'set': {
      arity(2, 'a key and a value, e.g. troupe config set logging.level debug');
      const key = liveKey(rest[0]!);
      const text = rest[1]!;
      const checked = checkLiveValue(key, text, config);
      if (!checked.ok) throw usageError(`invalid value ${JSON.stringify(text)} for ${key}: must be ${checked.rule}`);
      return { name, key, text: liveValueText(checked.value) };
    }
    case 'list':
      arity(0, 'no arguments');
      return { name };
    case undefined:
      throw usageError(`missing subcommand for "troupe config": get KEY, set KEY VALUE, unset KEY or list ${SEE}`);
    default: {
      const near = closest(name, ['get', 'set', 'unset', 'list']);
      throw usageError(`unknown subcommand "${name}" for "troupe config"${near === undefined ? '' : `; did you mean ${near}?`} (subcommands: get, set, unset, list)`);
    }
  }
}

function liveKey(word: string): LiveKey {
  if (isLiveKey(word)) return word;
  const why = Object.hasOwn(CONFIG_SCHEMA, word) ? `${word} is not a live key (it takes a restart: set it in the config file, environment or flags)` : `unknown key ${word}`;
  const near = closest(word, LIVE_KEYS);
  const hint = near === undefined || near === word ? '' : `did you mean ${near}? `;
  throw usageError(`${why}; ${hint}live keys: ${LIVE_KEYS.join(', ')}`);
}

function usageError(message: string): TroupeError {
  return new TroupeError('config', message);
}
