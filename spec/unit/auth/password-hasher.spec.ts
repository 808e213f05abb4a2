import { expect } from 'chai';
import { PasswordHasher, type PasswordHasherOptions } from '../../../actors/auth/password-hasher.js';
import { expectRejection } from './expect-rejection.js';

/** Small parameters so real argon2 stays fast in tests; production uses config's OWASP values. */
const FAST: PasswordHasherOptions = { memoryKiB: 256, iterations: 1, parallelism: 1, poolSize: 2, maxQueue: 16 };

describe('PasswordHasher', () => {
  it('hashes with argon2id and the configured parameters, with a fresh salt each time', async () => {
    const hasher = new PasswordHasher(FAST);
    const a = await hasher.hash('correct horse battery');
    const b = await hasher.hash('correct horse battery');
    expect(a).to.match(/^\$argon2id\$v=19\$m=256,p=1,t=1\$/);
    expect(a).to.not.include('correct horse');
    expect(a).to.not.equal(b);
  });

  it('uses the OWASP parameters it is given (19 MiB, 2 iterations, 1 lane)', async () => {
    const hasher = new PasswordHasher({ memoryKiB: 19456, iterations: 2, parallelism: 1, poolSize: 1, maxQueue: 1 });
    const hash = await hasher.hash('a long enough password');
    expect(hash).to.match(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(await hasher.verify(hash, 'a long enough password')).to.equal(true);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const hasher = new PasswordHasher(FAST);
    const hash = await hasher.hash('pässwörd-🔑-123');
    expect(await hasher.verify(hash, 'pässwörd-🔑-123')).to.equal(true);
    expect(await hasher.verify(hash, 'pässwörd-🔑-124')).to.equal(false);
    expect(await hasher.verify(hash, '')).to.equal(false);
  });

  it('verifies hashes made with other parameters (they carry their own)', async () => {
    const old = await new PasswordHasher({ ...FAST, memoryKiB: 512, iterations: 2 }).hash('secret-password');
    expect(await new PasswordHasher(FAST).verify(old, 'secret-password')).to.equal(true);
  });

  it('reports an unreadable stored hash as internal, not as a mismatch', async () => {
    const hasher = new PasswordHasher(FAST);
    await expectRejection(hasher.verify('not-a-phc-string', 'whatever1'), 'internal', 'unreadable');
  });

  it('runs a dummy verify that always resolves false and goes through the pool', async () => {
    const hasher = new PasswordHasher({ ...FAST, poolSize: 1 });
    await hasher.warmUp();
    const pending = hasher.verifyDummy('any password');
    // Give the call a moment to reach the pool: it then holds the one slot.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(hasher.running).to.equal(1);
    expect(await pending).to.equal(false);
    expect(await hasher.verifyDummy('')).to.equal(false);
  });

  it('never runs more than poolSize argon2 calls at once and refuses calls past maxQueue', async () => {
    // Parameters heavy enough (a few ms per hash) that the calls overlap.
    const hasher = new PasswordHasher({ memoryKiB: 8192, iterations: 2, parallelism: 1, poolSize: 2, maxQueue: 4 });
    let peakRunning = 0;
    let peakQueued = 0;
    let sampling = true;
    const sample = (): void => {
      peakRunning = Math.max(peakRunning, hasher.running);
      peakQueued = Math.max(peakQueued, hasher.queued);
      if (sampling) setImmediate(sample);
    };
    sample();
    const accepted = Array.from({ length: 6 }, (_, i) => hasher.hash(`password-${i}`));
    const refused = hasher.hash('one too many');
    const err = await expectRejection(refused, 'unavailable');
    expect(err.retriable).to.equal(true);
    const hashes = await Promise.all(accepted);
    sampling = false;
    expect(hashes).to.have.length(6);
    expect(peakRunning).to.equal(2);
    expect(peakQueued).to.equal(4);
    expect(hasher.running).to.equal(0);
    expect(hasher.queued).to.equal(0);
  });
});
