/**
 * The embedded mode's hot cache: the Cache port in one process (see port.ts).
 *
 * A Map from key to a mutable record, so that setting an existing key allocates nothing. A key
 * expires `ttlMs` after it was last set (monotonic clock); reads drop the expired keys they
 * meet and an ExpirySweep drops the rest in the background, so memory stays bounded by the
 * keys set within one TTL. After `close()` every call rejects with `closed`.
 */
import { performance } from 'node:perf_hooks';
import { TroupeError } from '../errors.js';
import { ExpirySweep } from './expiry-sweep.js';
import type { Cache } from './port.js';

export interface MemoryCacheOptions {
  /** Time between two background sweep slices. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** Keys examined per sweep slice. Default 10 000. */
  sweepBatch?: number;
}

interface CacheRecord {
  value: string;
  expiresAt: number;
}

export class MemoryCache implements Cache {
  private readonly records = new Map<string, CacheRecord>();
  private readonly sweep: ExpirySweep<string, CacheRecord>;
  private closed = false;

  constructor(options: MemoryCacheOptions = {}) {
    this.sweep = new ExpirySweep(this.records, (_key, record, now) => record.expiresAt <= now, {
      intervalMs: options.sweepIntervalMs ?? 1000,
      batch: options.sweepBatch ?? 10_000,
    });
  }

  /** Keys stored, including expired ones not yet swept (a gauge for metrics and tests). */
  get size(): number {
    return this.records.size;
  }

  async get(key: string): Promise<string | null> {
    this.assertOpen();
    return this.read(key, performance.now());
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    this.assertOpen();
    const now = performance.now();
    const values = new Array<string | null>(keys.length);
    for (let i = 0; i < keys.length; i++) values[i] = this.read(keys[i] as string, now);
    return values;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.assertOpen();
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new TroupeError('invalid_argument', `cache TTL must be a positive number of ms, got ${ttlMs}`);
    }
    const expiresAt = performance.now() + ttlMs;
    const record = this.records.get(key);
    if (record === undefined) {
      this.records.set(key, { value, expiresAt });
    } else {
      record.value = value;
      record.expiresAt = expiresAt;
    }
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    this.assertOpen();
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new TroupeError('invalid_argument', `cache TTL must be a positive number of ms, got ${ttlMs}`);
    }
    const now = performance.now();
    const current = this.read(key, now);
    const count = (current === null ? 0 : Number.parseInt(current, 10) || 0) + 1;
    const record = this.records.get(key);
    if (record === undefined) this.records.set(key, { value: String(count), expiresAt: now + ttlMs });
    else record.value = String(count);
    return count;
  }

  async del(key: string): Promise<void> {
    this.assertOpen();
    this.records.delete(key);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweep.stop();
    this.records.clear();
  }

  private read(key: string, now: number): string | null {
    const record = this.records.get(key);
    if (record === undefined) return null;
    if (record.expiresAt > now) return record.value;
    this.records.delete(key);
    return null;
  }

  private assertOpen(): void {
    if (this.closed) throw new TroupeError('closed', 'the cache is closed');
  }
}
