import { randomBytes } from 'node:crypto';
import * as argon2 from 'argon2';
import { TroupeError } from '../../transport/errors.js';
import { BoundedPool } from './bounded-pool.js';

/** The `auth.argon2` section of the configuration. */
export interface PasswordHasherOptions {
  /** Memory cost in KiB (OWASP: 19456, i.e. 19 MiB). */
  memoryKiB: number;
  /** Time cost (OWASP: 2). */
  iterations: number;
  /** Lanes (OWASP: 1). */
  parallelism: number;
  /** Hashes and verifies running at once at most. */
  poolSize: number;
  /** Hashes and verifies waiting at most; beyond it calls fail with `unavailable`. */
  maxQueue: number;
}

/**
 * argon2id password hashing on a bounded pool (docs/architecture.md).
 *
 * argon2 already computes on libuv's threadpool, off the event loop; the pool (see
 * BoundedPool) bounds how many threads it may hold and how many calls may wait, so that a
 * login storm neither starves other threadpool users nor queues without limit. Every method
 * may reject with `unavailable` (retriable) when the queue is full.
 *
 * Stored hashes are PHC strings carrying their own parameters, so changing the parameters
 * affects new hashes only; old ones keep verifying.
 */
export class PasswordHasher {
  private readonly pool: BoundedPool;
  private readonly params: argon2.HashOptions;
  /** A hash of a random secret, made on first need with the same parameters as real hashes. */
  private dummyHash: Promise<string> | undefined;

  constructor(options: PasswordHasherOptions) {
    this.pool = new BoundedPool({ concurrency: options.poolSize, maxQueue: options.maxQueue, name: 'password hashing' });
    this.params = {
      type: argon2.argon2id,
      memoryCost: options.memoryKiB,
      timeCost: options.iterations,
      parallelism: options.parallelism,
    };
  }

  /** Hashes and verifies running now. */
  get running(): number {
    return this.pool.running;
  }

  /** Hashes and verifies waiting for a slot now. */
  get queued(): number {
    return this.pool.queued;
  }

  /** The PHC-encoded argon2id hash of `password`, with a fresh random salt. */
  hash(password: string): Promise<string> {
    return this.pool.run(() => this.compute(password));
  }

  /**
   * Whether `password` matches `hash`. A hash that cannot be parsed (a corrupt row) is
   * `internal`, not a mismatch, so that it is noticed.
   */
  verify(hash: string, password: string): Promise<boolean> {
    return this.pool.run(async () => {
      try {
        return await argon2.verify(hash, password);
      } catch (err) {
        throw new TroupeError('internal', 'stored password hash is unreadable', { cause: err });
      }
    });
  }

  /**
   * Spends the same work as `verify` against a hash no password matches, and resolves false.
   * Called for unknown usernames so that the answer's timing does not tell whether a username
   * exists. The dummy hash is made once, on the first call (or by `warmUp`).
   */
  async verifyDummy(password: string): Promise<false> {
    const hash = await this.ensureDummyHash();
    await this.verify(hash, password);
    return false;
  }

  /** Makes the dummy hash now, so the first unknown-username login costs no extra hash. */
  async warmUp(): Promise<void> {
    await this.ensureDummyHash();
  }

  private ensureDummyHash(): Promise<string> {
    if (this.dummyHash === undefined) {
      const made = this.hash(randomBytes(24).toString('base64url'));
      this.dummyHash = made;
      // A failed attempt (e.g. the pool was full) must not poison every later call.
      made.catch(() => {
        if (this.dummyHash === made) this.dummyHash = undefined;
      });
    }
    return this.dummyHash;
  }

  private async compute(password: string): Promise<string> {
    try {
      return await argon2.hash(password, this.params);
    } catch (err) {
      throw new TroupeError('internal', 'password hashing failed', { cause: err });
    }
  }
}
