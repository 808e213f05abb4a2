/**
 * Loads Troupe's configuration, lowest precedence first: config/default.yaml, the `--config`
 * file, environment variables (config/env.ts), then CLI flags as dotted overrides. Every value
 * is checked against config/schema.ts as it arrives, so an error names the key, the value and
 * where it came from; any problem is a TroupeError('config') with a one-line message.
 *
 * Loading is pure: it reads files but creates nothing (commands create dataDir when they need it).
 */

import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { TroupeError } from '../transport/errors.js';
import { readEnv } from './env.js';
import { CONFIG_KEYS, CONFIG_SCHEMA, type ConfigKey } from './schema.js';
import { didYouMean } from './suggest.js';
import type { TroupeConfig } from './types.js';
import { checkValue, showValue } from './validate.js';

export interface LoadConfigOptions {
  /** A YAML file whose keys override the defaults (the CLI's `--config`). */
  file?: string;
  /** Defaults to process.env; pass `{}` for a configuration independent of the environment. */
  env?: NodeJS.ProcessEnv;
  /** Dotted keys from CLI flags, e.g. `{ 'gateway.port': '9000' }`; text is coerced per schema. */
  overrides?: Record<string, unknown>;
}

/**
 * default.yaml sits beside this file in the sources (config/load.ts) and two levels up from
 * the compiled file (dist/config/load.js → config/default.yaml), since tsc does not copy YAML.
 */
const DEFAULTS_CANDIDATES = ['./default.yaml', '../../config/default.yaml'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

const KEY_SET: ReadonlySet<string> = new Set(CONFIG_KEYS);
/** Every proper prefix of a key: 'gateway', 'gateway.rateLimit', … */
const SECTIONS: ReadonlySet<string> = new Set(
  CONFIG_KEYS.flatMap((key) => {
    const parts = key.split('.');
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
  }),
);
const COMMAND_LINE = 'the command line';

interface Sourced {
  value: unknown;
  source: string;
}

export function loadConfig(options: LoadConfigOptions = {}): TroupeConfig {
  const values = new Map<ConfigKey, Sourced>();
  const set = (key: ConfigKey, raw: unknown, source: string, fromText: boolean): void => {
    const checked = checkValue(CONFIG_SCHEMA[key], raw, fromText);
    if (!checked.ok) throw configError(`${key} must be ${checked.rule} (got ${showValue(raw)} from ${source})`);
    values.set(key, { value: checked.value, source });
  };

  const defaultsFile = locateDefaults();
  applyTree(readYamlFile(defaultsFile), '', 'config/default.yaml', set);
  const missing = CONFIG_KEYS.find((key) => !values.has(key));
  if (missing !== undefined) throw configError(`${defaultsFile} has no value for ${missing}; restore it from the package`);

  if (options.file !== undefined) applyTree(readYamlFile(options.file), '', options.file, set);

  for (const { key, raw, variable } of readEnv(options.env ?? process.env)) set(key, raw, variable, true);

  for (const [key, raw] of Object.entries(options.overrides ?? {})) {
    if (!KEY_SET.has(key)) throw configError(`unknown key ${key} from ${COMMAND_LINE}${didYouMean(key, CONFIG_KEYS)}`);
    set(key as ConfigKey, raw, COMMAND_LINE, typeof raw === 'string');
  }

  deriveDefaults(values);
  checkRelations(values);
  return toTree(values);
}

function locateDefaults(): string {
  const found = DEFAULTS_CANDIDATES.find((candidate) => existsSync(candidate));
  if (found === undefined) throw configError(`default.yaml not found (looked in ${DEFAULTS_CANDIDATES.join(' and ')}); reinstall troupe`);
  return found;
}

function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw configError(`cannot read config file ${file} (${reason}); check the --config path`, err);
  }
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    const first = ((err as Error).message.split('\n')[0] ?? '').trim();
    throw configError(`${file} is not valid YAML: ${first}`, err);
  }
}

/** Walks a parsed YAML mapping, refusing keys the schema does not know. */
function applyTree(
  tree: unknown,
  prefix: string,
  source: string,
  set: (key: ConfigKey, raw: unknown, source: string, fromText: boolean) => void,
): void {
  if (tree === null || tree === undefined) return; // an empty file or an empty section
  if (!isMapping(tree)) {
    const what = prefix === '' ? `${source} must hold a mapping of sections` : `${prefix} is a section and must hold a mapping of keys`;
    throw configError(`${what} (got ${showValue(tree)} from ${source})`);
  }
  for (const [name, raw] of Object.entries(tree)) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    if (KEY_SET.has(path)) set(path as ConfigKey, raw, source, false);
    else if (SECTIONS.has(path)) applyTree(raw, path, source, set);
    else throw configError(`unknown key ${path} in ${source}${didYouMean(path, [...CONFIG_KEYS, ...SECTIONS])}; remove or correct it`);
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fills the values whose default depends on another: node id, dataDir-relative paths. */
function deriveDefaults(values: Map<ConfigKey, Sourced>): void {
  const get = (key: ConfigKey): string => values.get(key)?.value as string;
  const derive = (key: ConfigKey, value: string): void => {
    values.set(key, { value, source: values.get(key)?.source ?? 'derived' });
  };

  if (get('node.id') === '') derive('node.id', `${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-${process.pid}`);

  const dataDir = resolve(get('dataDir'));
  derive('dataDir', dataDir);

  const keysDir = get('auth.keysDir');
  derive('auth.keysDir', keysDir === '' ? join(dataDir, 'keys') : resolve(keysDir));

  const filename = get('storage.filename');
  if (filename !== ':memory:') derive('storage.filename', filename === '' ? join(dataDir, 'troupe.sqlite') : resolve(filename));
}

/** Rules between keys, each checked after every source has been applied. */
function checkRelations(values: Map<ConfigKey, Sourced>): void {
  const at = (key: ConfigKey): Sourced => values.get(key)!;
  const atMost = (small: ConfigKey, large: ConfigKey, strictly: boolean): void => {
    const a = at(small);
    const b = at(large);
    const ok = strictly ? (a.value as number) < (b.value as number) : (a.value as number) <= (b.value as number);
    if (!ok) {
      throw configError(
        `${small} must be ${strictly ? 'less than' : 'at most'} ${large} (got ${showValue(a.value)} from ${a.source} and ${showValue(b.value)} from ${b.source})`,
      );
    }
  };
  atMost('history.defaultLimit', 'history.maxLimit', false);
  atMost('sync.defaultLimit', 'sync.maxLimit', false);
  atMost('gateway.presenceHeartbeatMs', 'gateway.presenceTtlMs', true);
  atMost('gateway.maxMessageBodyBytes', 'gateway.maxFrameBytes', false);
  // The transport must take a frame over the protocol's limit, or it drops the socket before
  // the gateway can close it with 1009 (uWebSockets.js drops a frame over its own limit without a close frame).
  atMost('gateway.maxFrameBytes', 'gateway.transportMaxPayloadBytes', true);

  const client = at('storage.client');
  if (client.value === 'mysql' && at('storage.url').value === '') {
    throw configError(`storage.url must be set when storage.client is mysql (from ${client.source}), e.g. TROUPE_STORAGE__URL=mysql://user:password@host:3306/troupe`);
  }
}

function toTree(values: Map<ConfigKey, Sourced>): TroupeConfig {
  const root: Record<string, unknown> = {};
  for (const [key, { value }] of values) {
    const parts = key.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = value;
  }
  return root as unknown as TroupeConfig;
}

function configError(message: string, cause?: unknown): TroupeError {
  return new TroupeError('config', `config: ${message}`, cause === undefined ? {} : { cause });
}
