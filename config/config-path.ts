/**
 * Reading and writing one leaf of a TroupeConfig by its dotted key ('gateway.rateLimit.burst').
 *
 * Writes change the leaf in place and never replace a section object: code that holds a
 * section (`config.groups`, `config.gateway.rateLimit`) keeps seeing the current values, which
 * is what lets the runtime configuration (config/live-config.ts) change a setting live.
 */

import type { ConfigKey } from './schema.js';
import type { TroupeConfig } from './types.js';

/** A leaf value of the configuration. */
export type ConfigValue = string | number | boolean;

export function readConfigValue(config: TroupeConfig, key: ConfigKey): ConfigValue {
  const { section, leaf } = walk(config, key);
  return section[leaf] as ConfigValue;
}

export function writeConfigValue(config: TroupeConfig, key: ConfigKey, value: ConfigValue): void {
  const { section, leaf } = walk(config, key);
  section[leaf] = value;
}

function walk(config: TroupeConfig, key: ConfigKey): { section: Record<string, unknown>; leaf: string } {
  const parts = key.split('.');
  let section = config as unknown as Record<string, unknown>;
  for (let i = 0; i < parts.length - 1; i++) section = section[parts[i]!] as Record<string, unknown>;
  return { section, leaf: parts[parts.length - 1]! };
}
