/**
 * A node's runtime configuration wiring (bin/cluster/runtime-config.ts) and the logger level it
 * sets (bin/logger.ts): logging.level changed in the coordinator reaches the process logger and
 * every child logger made from it before the change; unset, it goes back to the start level.
 */
import { expect } from 'chai';
import { startRuntimeConfig } from '../../../bin/cluster/runtime-config.js';
import { createLogger, setLogLevel } from '../../../bin/logger.js';
import { liveConfigPrefix } from '../../../config/live-keys.js';
import { loadConfig } from '../../../config/load.js';
import { LocalCoordinator } from '../../../transport/coord/local.js';
import { uniqueName, waitFor } from '../../support/wait-for.js';

type LevelLogger = ReturnType<typeof createLogger> & { isLevelEnabled(level: string): boolean; silent: boolean };

/** A process logger that writes nothing (its level still answers isLevelEnabled). */
function quietLogger(config: Parameters<typeof createLogger>[0]): LevelLogger {
  const logger = createLogger(config, 'spec') as LevelLogger;
  logger.silent = true;
  return logger;
}

describe('bin: the logger level at runtime', function () {
  it('setLogLevel changes the level of the logger and of children made before the change', function () {
    const config = loadConfig({ env: {}, overrides: { 'logging.level': 'warn' } });
    const logger = quietLogger(config);
    const child = logger.child({ part: 'x' }) as LevelLogger;
    expect(child.isLevelEnabled('info')).to.equal(false);
    setLogLevel(logger, 'debug');
    expect(logger.isLevelEnabled('debug')).to.equal(true);
    expect(child.isLevelEnabled('debug')).to.equal(true);
    setLogLevel(logger, 'error');
    expect(child.isLevelEnabled('warn')).to.equal(false);
  });

  it('startRuntimeConfig applies logging.level from the coordinator to the node\'s logger, and reverts it on unset', async function () {
    const coord = new LocalCoordinator();
    const config = loadConfig({ env: {}, overrides: { 'node.cluster': uniqueName('runtime'), 'logging.level': 'error' } });
    const logger = quietLogger(config);
    const child = logger.child({ part: 'y' }) as LevelLogger;
    const key = `${liveConfigPrefix(config.node.cluster)}logging.level`;
    await coord.put(key, 'info');
    const live = await startRuntimeConfig({ coord, config, logger });
    try {
      expect(child.isLevelEnabled('info'), 'the stored value applied at start').to.equal(true);
      expect(child.isLevelEnabled('debug')).to.equal(false);
      await coord.put(key, 'debug');
      await waitFor(() => child.isLevelEnabled('debug'), { message: 'debug enabled' });
      await coord.delete(key);
      await waitFor(() => !child.isLevelEnabled('warn'), { message: 'back to error' });
      expect(config.logging.level).to.equal('error');
    } finally {
      await live.close();
      await coord.close();
    }
  });
});
