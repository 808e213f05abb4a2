/**
 * What `troupe local-cluster` gives its roles (bin/local-cluster/launcher.ts, roleEnvironment;
 * bin/commands/local-cluster.ts, troupeVariables): the caller's TROUPE_ variables reach every
 * role over the launcher's tuning for the mock, but cannot redirect its services or folders.
 */
import { expect } from 'chai';
import { troupeVariables } from '../../../bin/commands/local-cluster.js';
import { MOCK_TUNING, roleEnvironment } from '../../../bin/local-cluster/launcher.js';

describe('local-cluster role environment', function () {
  it("takes the caller's TROUPE_ variables, and only those (not PORT, which each gateway has its own of)", function () {
    expect(troupeVariables({ TROUPE_LOGGING__LEVEL: 'debug', PORT: '8080', HOME: '/root', TROUPEX: 'no' })).to.deep.equal({ TROUPE_LOGGING__LEVEL: 'debug' });
  });

  it("lets the caller's settings override the launcher's tuning, and add keys of their own", function () {
    const env = roleEnvironment({ TROUPE_CLUSTER__KAFKA_FETCH_IDLE_WAIT_MS: '250', TROUPE_CLUSTER__KAFKA_PRODUCE_LINGER_MS: '5' }, {}, {});
    expect(env.TROUPE_CLUSTER__KAFKA_FETCH_IDLE_WAIT_MS).to.equal('250');
    expect(env.TROUPE_CLUSTER__KAFKA_PRODUCE_LINGER_MS).to.equal('5');
    expect(env.TROUPE_CLUSTER__KAFKA_FETCH_MAX_WAIT_MS).to.equal(MOCK_TUNING.TROUPE_CLUSTER__KAFKA_FETCH_MAX_WAIT_MS);
  });

  it("keeps the launcher's wiring over the caller's, and the extra variables over both", function () {
    const env = roleEnvironment(
      { TROUPE_CLUSTER__BROKERS: 'elsewhere:9092', TROUPE_LOGGING__LEVEL: 'debug' },
      { TROUPE_CLUSTER__BROKERS: '127.0.0.1:1111', TROUPE_LOGGING__LEVEL: 'info' },
      { TROUPE_LOGGING__LEVEL: 'warn' },
    );
    expect(env.TROUPE_CLUSTER__BROKERS).to.equal('127.0.0.1:1111');
    expect(env.TROUPE_LOGGING__LEVEL).to.equal('warn');
  });
});
