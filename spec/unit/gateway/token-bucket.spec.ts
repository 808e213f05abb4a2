/**
 * The per-connection rate limiter (actors/gateway/token-bucket.ts), driven by an injected
 * clock: a full burst at once, then a refill at the configured rate, never above the burst.
 */
import { expect } from 'chai';
import { TokenBucket } from '../../../actors/gateway/token-bucket.js';

const T0 = 1_000_000;

function takes(bucket: TokenBucket, now: number, count: number): boolean[] {
  return Array.from({ length: count }, () => bucket.take(now));
}

describe('TokenBucket', function () {
  it('allows a full burst at once and refuses the next take', function () {
    const bucket = new TokenBucket({ burst: 60, perSecond: 20 }, T0);
    expect(takes(bucket, T0, 60).every(Boolean)).to.equal(true);
    expect(bucket.take(T0)).to.equal(false);
  });

  it('refills at the configured rate', function () {
    const bucket = new TokenBucket({ burst: 3, perSecond: 2 }, T0); // one token every 500 ms
    takes(bucket, T0, 3);
    expect(bucket.take(T0 + 499), 'not a whole token yet').to.equal(false);
    expect(bucket.take(T0 + 500)).to.equal(true);
    expect(bucket.take(T0 + 500)).to.equal(false);
    expect(takes(bucket, T0 + 1500, 3), 'two more tokens after one more second').to.deep.equal([true, true, false]);
  });

  it('accumulates fractions of a token across takes', function () {
    const bucket = new TokenBucket({ burst: 1, perSecond: 20 }, T0); // one token every 50 ms
    bucket.take(T0);
    expect(bucket.take(T0 + 20)).to.equal(false);
    expect(bucket.take(T0 + 40)).to.equal(false);
    expect(bucket.take(T0 + 50), 'the refused takes did not lose the refill').to.equal(true);
  });

  it('never holds more than the burst after a long idle time', function () {
    const bucket = new TokenBucket({ burst: 5, perSecond: 20 }, T0);
    takes(bucket, T0, 5);
    expect(takes(bucket, T0 + 3_600_000, 6)).to.deep.equal([true, true, true, true, true, false]);
  });

  it('does not refill when the clock goes backwards', function () {
    const bucket = new TokenBucket({ burst: 2, perSecond: 10 }, T0);
    takes(bucket, T0, 2);
    expect(bucket.take(T0 - 10_000)).to.equal(false);
    expect(bucket.take(T0 + 99)).to.equal(false);
    expect(bucket.take(T0 + 100)).to.equal(true);
  });

  it('lets a steady sender through at the refill rate: 20 of 40 frames in one second', function () {
    const bucket = new TokenBucket({ burst: 1, perSecond: 20 }, T0);
    let passed = 0;
    for (let ms = 0; ms < 1000; ms += 25) if (bucket.take(T0 + ms)) passed++; // 40 attempts in a second
    expect(passed).to.equal(20);
  });
});

describe('TokenBucket with limits changed at runtime', function () {
  it('reads a raised refill rate at the next take, for a bucket made before the change', function () {
    const rate = { burst: 10, perSecond: 1 };
    const bucket = new TokenBucket(rate, T0);
    takes(bucket, T0, 10);
    expect(bucket.take(T0 + 100), 'at 1/s, 100 ms gives no token').to.equal(false);
    rate.perSecond = 100; // one token every 10 ms
    expect(takes(bucket, T0 + 200, 11), '100 ms more at 100/s: ten tokens').to.deep.equal([...Array(10).fill(true), false]);
  });

  it('trims the saved tokens at the next take when the burst is lowered, and refills up to a raised one', function () {
    const rate = { burst: 10, perSecond: 10 };
    const bucket = new TokenBucket(rate, T0);
    rate.burst = 2;
    expect(takes(bucket, T0, 3), 'ten saved tokens cut to two').to.deep.equal([true, true, false]);
    rate.burst = 50;
    expect(takes(bucket, T0 + 10_000, 51).filter(Boolean).length, 'a long idle time now fills 50').to.equal(50);
  });
});
