/**
 * A cluster node's runtime configuration: the live keys under `/troupe/<cluster>/config/`
 * (config/live-config.ts) applied to the node's shared configuration object, plus what a change
 * must do beyond that object: logging.level sets the level of the node's logger.
 *
 * Everything else a live key governs reads the configuration at use time (see the comments of
 * config/live-keys.ts), so nothing more is wired here.
 */
import type { Logger } from '../../actors/runtime/logger.js';
import { LiveConfig } from '../../config/live-config.js';
import type { TroupeConfig } from '../../config/types.js';
import type { Coordinator } from '../../transport/coord/port.js';
import { setLogLevel } from '../logger.js';

export interface RuntimeConfigOptions {
  coord: Coordinator;
  config: TroupeConfig;
  /** The process's root logger (createLogger's), whose level logging.level sets. */
  logger: Logger;
}

/** Starts watching; rejects like LiveConfig.start(). Close the result on shutdown. */
export async function startRuntimeConfig(options: RuntimeConfigOptions): Promise<LiveConfig> {
  const { coord, config, logger } = options;
  const live = new LiveConfig({ coord, cluster: config.node.cluster, config, logger: logger.child({ component: 'runtime-config' }) });
  live.onChange((key, value) => {
    if (key === 'logging.level') setLogLevel(logger, value as TroupeConfig['logging']['level']);
  });
  await live.start();
  return live;
}
