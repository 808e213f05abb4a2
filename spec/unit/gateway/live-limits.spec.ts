/**
 * A gateway's limits follow the runtime configuration: the limits view of bin/roles/
 * gateway-limits.ts, fed by a LiveConfig, reaches a token bucket made before the change (an open
 * connection's) and the frame checks, without a restart.
 */
import { expect } from 'chai';
import { parseClientFrame } from '../../../actors/gateway/client-frames.js';
import { TokenBucket } from '../../../actors/gateway/token-bucket.js';
import { gatewayLimitsOf } from '../../../bin/roles/gateway-limits.js';
import { LiveConfig } from '../../../config/live-config.js';
import { liveConfigPrefix } from '../../../config/live-keys.js';
import { loadConfig } from '../../../config/load.js';
import type { TroupeConfig } from '../../../config/types.js';
import { LocalCoordinator } from '../../../transport/coord/local.js';
import { uniqueName, waitFor } from '../../support/wait-for.js';

const T0 = 1_000_000;
const quiet = { info: () => undefined, warn: () => undefined };

describe('gateway limits changed at runtime', function () {
  let coord: LocalCoordinator;
  let live: LiveConfig;
  let prefix: string;
  let config: TroupeConfig;

  beforeEach(async function () {
    coord = new LocalCoordinator();
    const cluster = uniqueName('limits');
    prefix = liveConfigPrefix(cluster);
    config = loadConfig({ env: {} });
    live = new LiveConfig({ coord, cluster, config, logger: quiet });
    await live.start();
  });

  afterEach(async function () {
    await live.close();
    await coord.close();
  });

  it('gives an open connection\'s token bucket the new rate at its next frame', async function () {
    const limits = gatewayLimitsOf(config);
    await coord.put(`${prefix}gateway.rateLimit.burst`, '2');
    await coord.put(`${prefix}gateway.rateLimit.perSecond`, '1');
    await waitFor(() => config.gateway.rateLimit.perSecond === 1);
    const bucket = new TokenBucket(limits.rateLimit, T0); // the connection opens
    expect([bucket.take(T0), bucket.take(T0), bucket.take(T0 + 10)]).to.deep.equal([true, true, false]);

    await coord.put(`${prefix}gateway.rateLimit.perSecond`, '1000');
    await coord.put(`${prefix}gateway.rateLimit.burst`, '5');
    await waitFor(() => config.gateway.rateLimit.burst === 5);
    const passed = [1, 2, 3, 4, 5, 6].map(() => bucket.take(T0 + 20)).filter(Boolean).length;
    expect(passed, '10 ms at 1000/s refills the raised burst of 5').to.equal(5);

    await coord.delete(`${prefix}gateway.rateLimit.perSecond`);
    await waitFor(() => config.gateway.rateLimit.perSecond === 20);
    expect(bucket.take(T0 + 60), '40 ms at the started 20/s: no whole token').to.equal(false);
    expect(bucket.take(T0 + 70), '50 ms at 20/s: one token').to.equal(true);
  });

  it('checks frames against the new text and body limits', async function () {
    const limits = gatewayLimitsOf(config);
    const send = JSON.stringify({ type: 'send', id: 'c1', conv: 'c_live', body: { text: 'x'.repeat(50) } });
    expect(parseClientFrame(send, limits).ok).to.equal(true);
    await coord.put(`${prefix}gateway.maxTextChars`, '10');
    await waitFor(() => config.gateway.maxTextChars === 10);
    const refused = parseClientFrame(send, limits);
    expect(refused).to.include({ ok: false, code: 'too_large' });
  });
});
