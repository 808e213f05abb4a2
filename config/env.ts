/**
 * Environment variables as configuration: `TROUPE_<SECTION>__<KEY>`, one `__` per level, each
 * level in SCREAMING_SNAKE (TROUPE_GATEWAY__RATE_LIMIT__BURST → gateway.rateLimit.burst,
 * TROUPE_DATA_DIR → dataDir), plus `PORT` for gateway.port because hosting platforms set it.
 *
 * A level matches its key ignoring case and underscores, so TROUPE_AUTH__ARGON2__MEMORY_KIB
 * finds memoryKiB. Any other TROUPE_ variable is refused: a misspelt variable that silently
 * does nothing is the hardest configuration bug to see.
 */

import { TroupeError } from '../transport/errors.js';
import { CONFIG_KEYS, type ConfigKey } from './schema.js';
import { closest } from './suggest.js';

export const ENV_PREFIX = 'TROUPE_';
export const PORT_VARIABLE = 'PORT';

export interface EnvSetting {
  key: ConfigKey;
  raw: string;
  /** The variable's name, for error messages. */
  variable: string;
}

/** gateway.rateLimit.burst → TROUPE_GATEWAY__RATE_LIMIT__BURST */
export function envVariableOf(key: string): string {
  return ENV_PREFIX + key.split('.').map(toScreamingSnake).join('__');
}

function toScreamingSnake(segment: string): string {
  // A capital starts a new word only when a lower-case letter follows it: memoryKiB → MEMORY_KIB.
  return segment.replace(/([a-z0-9])([A-Z](?=[a-z0-9]))/g, '$1_$2').toUpperCase();
}

const normalize = (segment: string): string => segment.replace(/_/g, '').toLowerCase();
const signature = (segments: readonly string[]): string => segments.map(normalize).join('.');

const KEY_BY_SIGNATURE = new Map<string, ConfigKey>(CONFIG_KEYS.map((key) => [signature(key.split('.')), key]));
const SECTION_SIGNATURES = new Set(
  CONFIG_KEYS.flatMap((key) => {
    const parts = key.split('.');
    return parts.slice(1).map((_, i) => signature(parts.slice(0, i + 1)));
  }),
);

/**
 * The configuration settings in `env`, PORT first so that an explicit TROUPE_GATEWAY__PORT
 * wins over it. Throws TroupeError('config') naming the first unknown TROUPE_ variable.
 */
export function readEnv(env: NodeJS.ProcessEnv): EnvSetting[] {
  const settings: EnvSetting[] = [];
  const port = env[PORT_VARIABLE];
  if (port !== undefined && port !== '') settings.push({ key: 'gateway.port', raw: port, variable: PORT_VARIABLE });
  for (const [variable, raw] of Object.entries(env)) {
    if (raw === undefined || !variable.startsWith(ENV_PREFIX)) continue;
    settings.push({ key: keyOfVariable(variable), raw, variable });
  }
  return settings;
}

function keyOfVariable(variable: string): ConfigKey {
  const sig = signature(variable.slice(ENV_PREFIX.length).split('__'));
  const key = KEY_BY_SIGNATURE.get(sig);
  if (key !== undefined) return key;
  if (SECTION_SIGNATURES.has(sig)) {
    const example = CONFIG_KEYS.find((k) => signature(k.split('.')).startsWith(`${sig}.`))!;
    throw new TroupeError('config', `config: environment variable ${variable} names a section, not a key; set its keys instead, e.g. ${envVariableOf(example)}`);
  }
  const near = closest(variable, CONFIG_KEYS.map(envVariableOf));
  const hint = near === undefined ? 'unset it (troupe --help explains the names)' : `did you mean ${near}? (otherwise unset it)`;
  throw new TroupeError('config', `config: unknown environment variable ${variable} names no configuration key; ${hint}`);
}
