/**
 * The runtime configuration of a cluster node: the live keys (config/live-keys.ts) stored under
 * `/troupe/<cluster>/config/`, applied to the node's configuration object as they change.
 *
 * `start()` reads the prefix, applies what it finds, and watches from the revision of that read,
 * so no change between the read and the watch is missed and each is applied once, in order.
 * Values are written into the given TroupeConfig in place (config/config-path.ts), so code that
 * reads the shared object at use time sees a change at once; code that must act on a change
 * (the logger's level) registers with `onChange`.
 *
 * - A put of a valid value applies it. A deleted key reverts to the value the node started with.
 * - An invalid value (schema row or bound, see checkLiveValue) is ignored with one warning that
 *   names the key and the rule: the key keeps the value it had. Never a crash: an operator's
 *   typo must not take the cluster down.
 * - A key under the prefix that is not a live key is ignored with one warning.
 *
 * The watch rides out etcd reconnects (Coordinator port), so a node misses no change while it
 * runs; a node that starts later reads the current values in `start()`.
 */

import type { Coordinator, WatchEvent, Watcher } from '../transport/coord/port.js';
import { TroupeError } from '../transport/errors.js';
import { readConfigValue, writeConfigValue, type ConfigValue } from './config-path.js';
import { checkLiveValue, isLiveKey, LIVE_KEYS, liveConfigPrefix, type LiveKey } from './live-keys.js';
import type { TroupeConfig } from './types.js';
import { showValue } from './validate.js';

/** Where changes (info) and ignored values (warn) are reported; bin/logger.ts's logger and actors' Logger both fit. */
export interface LiveConfigLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export type LiveChangeListener = (key: LiveKey, value: ConfigValue) => void;

export interface LiveConfigOptions {
  coord: Coordinator;
  /** The cluster's name (node.cluster): the values live under `/troupe/<cluster>/config/`. */
  cluster: string;
  /** The node's configuration, shared with the code that reads it; changed in place. */
  config: TroupeConfig;
  logger: LiveConfigLogger;
}

export class LiveConfig {
  private readonly coord: Coordinator;
  private readonly config: TroupeConfig;
  private readonly logger: LiveConfigLogger;
  private readonly prefix: string;
  /** What each live key was when this object was made: a deleted key goes back to it. */
  private readonly initial = new Map<LiveKey, ConfigValue>();
  private readonly listeners: LiveChangeListener[] = [];
  private watcher: Watcher | null = null;
  private starting: Promise<void> | undefined;
  private closed = false;

  constructor(options: LiveConfigOptions) {
    this.coord = options.coord;
    this.config = options.config;
    this.logger = options.logger;
    this.prefix = liveConfigPrefix(options.cluster);
    for (const key of LIVE_KEYS) this.initial.set(key, readConfigValue(this.config, key));
  }

  /**
   * Calls `listener` after each change of a live key's value in the configuration (set or
   * reverted), values read in start() included. A put that leaves the value as it was calls
   * nothing. A listener that throws is reported and does not stop the others.
   */
  onChange(listener: LiveChangeListener): void {
    this.listeners.push(listener);
  }

  /**
   * Applies the stored values and watches for changes. Rejects with the coordinator's error
   * (`unavailable` when etcd cannot be reached); idempotent.
   */
  start(): Promise<void> {
    this.starting ??= this.begin();
    return this.starting;
  }

  /** Stops watching; the configuration keeps its current values. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const watcher = this.watcher;
    this.watcher = null;
    await watcher?.cancel();
  }

  private async begin(): Promise<void> {
    if (this.closed) throw new TroupeError('closed', 'the runtime configuration was closed before it started');
    const { kvs, revision } = await this.coord.getPrefix(this.prefix);
    if (this.closed) return;
    for (const kv of kvs) this.put(kv.key, kv.value);
    const watcher = await this.coord.watchPrefix(this.prefix, (event) => this.onEvent(event), revision);
    if (this.closed) await watcher.cancel();
    else this.watcher = watcher;
  }

  private onEvent(event: WatchEvent): void {
    if (this.closed) return;
    if (event.type === 'put') this.put(event.kv.key, event.kv.value);
    else this.revert(event.key);
  }

  private put(path: string, text: string): void {
    const key = path.slice(this.prefix.length);
    if (!isLiveKey(key)) {
      this.logger.warn(`runtime config: ignored ${path}: ${key} is not a live key (troupe config list shows them)`, { key, path });
      return;
    }
    const checked = checkLiveValue(key, text, this.config);
    if (!checked.ok) {
      this.logger.warn(`runtime config: ignored ${key}: must be ${checked.rule} (got ${showValue(text)} from ${path})`, { key, rule: checked.rule, value: text });
      return;
    }
    this.apply(key, checked.value);
  }

  private revert(path: string): void {
    const key = path.slice(this.prefix.length);
    if (isLiveKey(key)) this.apply(key, this.initial.get(key)!);
  }

  private apply(key: LiveKey, value: ConfigValue): void {
    if (readConfigValue(this.config, key) === value) return;
    writeConfigValue(this.config, key, value);
    this.logger.info(`runtime config: ${key} is now ${showValue(value)}`, { key, value });
    for (const listener of this.listeners) {
      try {
        listener(key, value);
      } catch (err) {
        this.logger.warn(`runtime config: a listener failed on ${key}`, { key, error: (err as Error)?.message ?? String(err) });
      }
    }
  }
}
