/**
 * The runtime configuration (config/live-config.ts), one body run against the in-process
 * coordinator and against a private etcd: stored values applied at start, changes applied live
 * and reverted on delete, invalid values and unknown keys ignored with a warning, nothing
 * applied after close. Then what only etcd shows: a change made while etcd restarted.
 *
 * Negative checks (a value NOT applied) wait for a probe: a second LiveConfig on the same
 * prefix, or a later valid change, proves the event was delivered and then ignored.
 */
import { expect } from 'chai';
import { startEtcd, type EtcdService } from '../../bin/services/etcd.js';
import { LiveConfig, type LiveConfigLogger } from '../../config/live-config.js';
import { liveConfigPrefix, type LiveKey } from '../../config/live-keys.js';
import { loadConfig } from '../../config/load.js';
import type { TroupeConfig } from '../../config/types.js';
import { EtcdCoordinator } from '../../transport/coord/etcd.js';
import { LocalCoordinator } from '../../transport/coord/local.js';
import type { Coordinator } from '../../transport/coord/port.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

interface RecordingLogger extends LiveConfigLogger {
  warnings: string[];
}

function recordingLogger(): RecordingLogger {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, warn: (message) => warnings.push(message) };
}

function freshConfig(): TroupeConfig {
  return loadConfig({ env: {} });
}

interface Harness {
  coord: Coordinator;
  cluster: string;
  prefix: string;
  /** A started LiveConfig on `config` (a fresh one by default), closed after the test. */
  live(config?: TroupeConfig): Promise<{ live: LiveConfig; config: TroupeConfig; logger: RecordingLogger; changes: Array<[LiveKey, unknown]> }>;
}

function describeLiveConfig(name: string, open: () => Coordinator): void {
  describe(`LiveConfig on ${name}`, function () {
    this.timeout(20_000);
    let coord: Coordinator;
    let cluster: string;
    let opened: LiveConfig[];
    let h: Harness;

    beforeEach(function () {
      coord = open();
      cluster = uniqueName('live');
      opened = [];
      const prefix = liveConfigPrefix(cluster);
      h = {
        coord,
        cluster,
        prefix,
        live: async (config = freshConfig()) => {
          const logger = recordingLogger();
          const live = new LiveConfig({ coord, cluster, config, logger });
          opened.push(live);
          const changes: Array<[LiveKey, unknown]> = [];
          live.onChange((key, value) => changes.push([key, value]));
          await live.start();
          return { live, config, logger, changes };
        },
      };
    });

    afterEach(async function () {
      for (const live of opened) await live.close();
      const { kvs } = await coord.getPrefix(h.prefix);
      for (const kv of kvs) await coord.delete(kv.key);
      await coord.close();
    });

    it('applies the values stored before it starts, and tells its listeners', async function () {
      await coord.put(`${h.prefix}logging.level`, 'debug');
      await coord.put(`${h.prefix}gateway.rateLimit.burst`, '7');
      const { config, changes } = await h.live();
      expect(config.logging.level).to.equal('debug');
      expect(config.gateway.rateLimit.burst).to.equal(7);
      expect(changes).to.have.deep.members([['logging.level', 'debug'], ['gateway.rateLimit.burst', 7]]);
    });

    it('applies a value set while it runs, in place in the shared configuration object', async function () {
      const { config, changes } = await h.live();
      const rateLimit = config.gateway.rateLimit; // held by code that read it at start-up
      await coord.put(`${h.prefix}gateway.rateLimit.perSecond`, '500');
      await coord.put(`${h.prefix}history.maxLimit`, '300');
      await waitFor(() => config.history.maxLimit === 300, { message: 'history.maxLimit applied' });
      expect(rateLimit.perSecond, 'the section object was changed, not replaced').to.equal(500);
      expect(changes).to.deep.equal([['gateway.rateLimit.perSecond', 500], ['history.maxLimit', 300]]);
    });

    it('reverts a deleted key to the value the node started with, not to the default', async function () {
      const started = freshConfig();
      started.groups.maxMembers = 4321; // e.g. from the node's config file
      const { config, changes } = await h.live(started);
      await coord.put(`${h.prefix}groups.maxMembers`, '50');
      await waitFor(() => config.groups.maxMembers === 50, { message: 'groups.maxMembers applied' });
      await coord.delete(`${h.prefix}groups.maxMembers`);
      await waitFor(() => config.groups.maxMembers === 4321, { message: 'groups.maxMembers reverted' });
      expect(changes).to.deep.equal([['groups.maxMembers', 50], ['groups.maxMembers', 4321]]);
    });

    it('ignores an invalid value with one warning naming the key and the rule, keeping the value it had', async function () {
      const { config, logger, changes } = await h.live();
      await coord.put(`${h.prefix}logging.level`, 'debug');
      await waitFor(() => config.logging.level === 'debug');
      await coord.put(`${h.prefix}logging.level`, 'loud');
      await coord.put(`${h.prefix}history.maxLimit`, '10'); // below history.defaultLimit (50)
      await coord.put(`${h.prefix}sync.maxLimit`, '400'); // a valid change after them
      await waitFor(() => config.sync.maxLimit === 400, { message: 'the change after the invalid ones applied' });
      expect(config.logging.level).to.equal('debug');
      expect(config.history.maxLimit).to.equal(200);
      expect(logger.warnings).to.have.length(2);
      expect(logger.warnings[0]).to.include('logging.level').and.include('must be one of error, warn, info, debug').and.include('"loud"');
      expect(logger.warnings[1]).to.include('history.maxLimit').and.include('must be at least history.defaultLimit (50)');
      expect(changes.map(([key]) => key)).to.deep.equal(['logging.level', 'sync.maxLimit']);
    });

    it('ignores keys under the prefix that are not live keys, with a warning naming them', async function () {
      const { config, logger, changes } = await h.live();
      const port = config.gateway.port;
      await coord.put(`${h.prefix}gateway.port`, '1234');
      await coord.put(`${h.prefix}no.such.key`, 'x');
      await coord.put(`${h.prefix}gateway.maxTextChars`, '99');
      await waitFor(() => config.gateway.maxTextChars === 99, { message: 'the live key after them applied' });
      expect(config.gateway.port).to.equal(port);
      expect(logger.warnings).to.have.length(2);
      expect(logger.warnings[0]).to.include('gateway.port is not a live key');
      expect(logger.warnings[1]).to.include('no.such.key is not a live key');
      expect(changes).to.deep.equal([['gateway.maxTextChars', 99]]);
    });

    it('applies nothing after close(), and nothing of another cluster', async function () {
      const closed = await h.live();
      const probe = await h.live();
      const other = freshConfig();
      const otherLive = new LiveConfig({ coord, cluster: uniqueName('live-other'), config: other, logger: recordingLogger() });
      opened.push(otherLive);
      await otherLive.start();
      await closed.live.close();
      await coord.put(`${h.prefix}gateway.abuseRefusedFrames`, '7');
      await waitFor(() => probe.config.gateway.abuseRefusedFrames === 7, { message: 'the probe saw the change' });
      expect(closed.config.gateway.abuseRefusedFrames).to.equal(200);
      expect(other.gateway.abuseRefusedFrames).to.equal(200);
    });
  });
}

describeLiveConfig('LocalCoordinator', () => new LocalCoordinator());

describe('LiveConfig on etcd', function () {
  let etcd: EtcdService | undefined;

  function endpoint(): string {
    if (etcd === undefined) throw new Error('etcd did not start');
    return etcd.endpoint;
  }

  before(async function () {
    this.timeout(120_000);
    etcd = await startEtcd();
  });

  after(async function () {
    await etcd?.stop();
  });

  describeLiveConfig('EtcdCoordinator', () => new EtcdCoordinator({ endpoints: endpoint(), callTimeoutMs: 2000 }));

  it('applies a change made after etcd restarted under a running node', async function () {
    this.timeout(60_000);
    const server = etcd!;
    const coord = new EtcdCoordinator({ endpoints: endpoint(), callTimeoutMs: 2000 });
    const config = freshConfig();
    const cluster = uniqueName('live-restart');
    const live = new LiveConfig({ coord, cluster, config, logger: recordingLogger() });
    try {
      await live.start();
      await server.down();
      await server.up();
      const writer = new EtcdCoordinator({ endpoints: endpoint(), callTimeoutMs: 2000 });
      try {
        await writer.put(`${liveConfigPrefix(cluster)}gateway.rateLimit.burst`, '3');
        await waitFor(() => config.gateway.rateLimit.burst === 3, { timeoutMs: 30_000, message: 'applied after the restart' });
        await writer.delete(`${liveConfigPrefix(cluster)}gateway.rateLimit.burst`);
      } finally {
        await writer.close();
      }
    } finally {
      await live.close();
      await coord.close();
      await server.up();
    }
  });
});
