import { expect } from 'chai';
import { LoginLimiter, addressKey, type LoginLimiterOptions } from '../../../actors/auth/login-limiter.js';
import { expectThrow } from './expect-rejection.js';

describe('LoginLimiter', () => {
  let clock: number;
  const limiter = (extra: Partial<LoginLimiterOptions> = {}): LoginLimiter =>
    new LoginLimiter({ failedLoginsPerUsername: 10, failedLoginsPerAddress: 100, now: () => clock, ...extra });

  beforeEach(() => {
    clock = 1_000_000;
  });

  it('allows 10 failed logins a minute for one username, then refuses with the time to wait', () => {
    const l = limiter();
    for (let i = 0; i < 10; i++) {
      l.check('alice', `10.0.0.${i}`);
      l.recordFailure('alice', `10.0.0.${i}`);
    }
    clock += 15_000;
    const err = expectThrow(() => l.check('alice', '10.0.1.1'), 'rate_limited');
    expect(err.retryAfterMs).to.equal(45_000);
    // Other usernames are unaffected.
    l.check('bob', '10.0.1.1');
  });

  it('allows 100 failed logins a minute from one address, across usernames, then refuses it alone', () => {
    const l = limiter();
    for (let i = 0; i < 100; i++) {
      l.check(`user${i}`, '192.0.2.7');
      l.recordFailure(`user${i}`, '192.0.2.7');
    }
    const err = expectThrow(() => l.check('fresh-name', '192.0.2.7'), 'rate_limited');
    expect(err.retryAfterMs).to.equal(60_000);
    l.check('fresh-name', '192.0.2.8');
  });

  it('lets a username try again once its window has passed', () => {
    const l = limiter();
    for (let i = 0; i < 10; i++) l.recordFailure('alice', '10.0.0.1');
    clock += 59_999;
    expectThrow(() => l.check('alice', '10.0.0.1'), 'rate_limited');
    clock += 1;
    l.check('alice', '10.0.0.1');
    // The new window counts from zero again.
    for (let i = 0; i < 9; i++) l.recordFailure('alice', '10.0.0.1');
    l.check('alice', '10.0.0.1');
    l.recordFailure('alice', '10.0.0.1');
    expectThrow(() => l.check('alice', '10.0.0.1'), 'rate_limited');
  });

  it('counts only failures: checks alone never limit', () => {
    const l = limiter();
    for (let i = 0; i < 1000; i++) l.check('alice', '10.0.0.1');
    expect(l.trackedKeys).to.deep.equal({ usernames: 0, addresses: 0 });
  });

  it('counts a failure without a username against the address only', () => {
    const l = limiter({ failedLoginsPerAddress: 3 });
    for (let i = 0; i < 3; i++) l.recordFailure(null, '10.0.0.9');
    expect(l.trackedKeys).to.deep.equal({ usernames: 0, addresses: 1 });
    expectThrow(() => l.check('anyone', '10.0.0.9'), 'rate_limited');
  });

  it('counts an IPv6 client per /64 and an IPv4-mapped address as IPv4', () => {
    const l = limiter({ failedLoginsPerAddress: 2 });
    l.recordFailure('a1', '2001:db8:1:2::1');
    l.recordFailure('a2', '2001:0db8:0001:0002:ffff:1:2:3');
    expectThrow(() => l.check('a3', '2001:db8:1:2:abcd::9'), 'rate_limited');
    l.check('a3', '2001:db8:1:3::1');
    l.recordFailure('b1', '::ffff:198.51.100.4');
    l.recordFailure('b2', '198.51.100.4');
    expectThrow(() => l.check('b3', '198.51.100.4'), 'rate_limited');
  });

  it('stays within maxEntries and forgets windows that have passed', () => {
    const l = limiter({ maxEntries: 50 });
    for (let i = 0; i < 1000; i++) l.recordFailure(`user${i}`, `10.${i >> 8}.${i & 255}.1`);
    expect(l.trackedKeys).to.deep.equal({ usernames: 50, addresses: 50 });
    clock += 60_000;
    l.recordFailure('late', '10.9.9.9');
    expect(l.trackedKeys).to.deep.equal({ usernames: 1, addresses: 1 });
  });

  it('is disabled for a kind whose limit is 0', () => {
    const l = limiter({ failedLoginsPerUsername: 0, failedLoginsPerAddress: 0 });
    for (let i = 0; i < 50; i++) l.recordFailure('alice', '10.0.0.1');
    l.check('alice', '10.0.0.1');
    expect(l.trackedKeys).to.deep.equal({ usernames: 0, addresses: 0 });
  });
});

describe('addressKey', () => {
  it('keeps IPv4, reduces IPv6 to its /64 and passes other strings through, cut short', () => {
    expect(addressKey('203.0.113.9')).to.equal('203.0.113.9');
    expect(addressKey('2001:DB8:0:0:1:2:3:4')).to.equal('2001:db8:0:0::/64');
    expect(addressKey('2001:db8::1')).to.equal('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).to.equal('fe80:0:0:0::/64');
    expect(addressKey('::1')).to.equal('0:0:0:0::/64');
    expect(addressKey('::ffff:203.0.113.9')).to.equal('203.0.113.9');
    expect(addressKey('64:ff9b::203.0.113.9')).to.equal('64:ff9b:0:0::/64');
    expect(addressKey('')).to.equal('');
    expect(addressKey('x'.repeat(500))).to.have.length(64);
  });
});
