/**
 * The embedded mode's presence: the Presence port in one process (see port.ts).
 *
 * Gateways add and remove an entry on every connect and disconnect, and conversation actors
 * look up every member of a conversation for every message, so each call is a few Map and
 * small-array operations with no I/O. A user's connections are a short array (most users have
 * one or two), each record holding a frozen PresenceEntry that lookups hand out as is, so a
 * lookup allocates only its result Map and one array per online user.
 *
 * Each entry expires `ttlMs` after it was last added or refreshed (monotonic clock). Lookups
 * drop the expired entries they meet; an ExpirySweep drops the rest in the background.
 * After `close()` every call rejects with `closed`.
 */
import { performance } from 'node:perf_hooks';
import { TroupeError } from '../errors.js';
import { ExpirySweep } from './expiry-sweep.js';
import type { Presence, PresenceEntry } from './port.js';

export interface MemoryPresenceOptions {
  /** Time between two background sweep slices. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** Users examined per sweep slice. Default 10 000. */
  sweepBatch?: number;
}

interface ConnectionRecord {
  readonly entry: PresenceEntry;
  expiresAt: number;
}

function assertTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new TroupeError('invalid_argument', `presence TTL must be a positive number of ms, got ${ttlMs}`);
  }
}

function indexOfConnection(records: readonly ConnectionRecord[], connId: string): number {
  for (let i = 0; i < records.length; i++) {
    if (records[i]?.entry.connId === connId) return i;
  }
  return -1;
}

/** Removes expired records in place (keeping order); true when none is left. */
function trimExpired(records: ConnectionRecord[], now: number): boolean {
  let kept = 0;
  for (const record of records) {
    if (record.expiresAt > now) records[kept++] = record;
  }
  records.length = kept;
  return kept === 0;
}

export class MemoryPresence implements Presence {
  private readonly users = new Map<string, ConnectionRecord[]>();
  private readonly sweep: ExpirySweep<string, ConnectionRecord[]>;
  private closed = false;

  constructor(options: MemoryPresenceOptions = {}) {
    this.sweep = new ExpirySweep(this.users, (_userId, records, now) => trimExpired(records, now), {
      intervalMs: options.sweepIntervalMs ?? 1000,
      batch: options.sweepBatch ?? 10_000,
    });
  }

  /** Users with stored entries, including expired ones not yet swept (a gauge for metrics and tests). */
  get userCount(): number {
    return this.users.size;
  }

  /** Adding a connection that is already present replaces its entry and restarts its TTL. */
  async add(userId: string, entry: PresenceEntry, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertTtl(ttlMs);
    const record: ConnectionRecord = {
      entry: Object.freeze({ connId: entry.connId, gatewayId: entry.gatewayId }),
      expiresAt: performance.now() + ttlMs,
    };
    const records = this.users.get(userId);
    if (records === undefined) {
      this.users.set(userId, [record]);
      return;
    }
    const index = indexOfConnection(records, entry.connId);
    if (index === -1) records.push(record);
    else records[index] = record;
  }

  async remove(userId: string, connId: string): Promise<void> {
    this.assertOpen();
    const records = this.users.get(userId);
    if (records === undefined) return;
    const index = indexOfConnection(records, connId);
    if (index === -1) return;
    records.splice(index, 1);
    if (records.length === 0) this.users.delete(userId);
  }

  /** Entries that were removed or have already expired stay gone: refresh never revives them. */
  async refresh(entries: Array<{ userId: string; connId: string }>, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertTtl(ttlMs);
    const now = performance.now();
    const expiresAt = now + ttlMs;
    for (const { userId, connId } of entries) {
      const records = this.users.get(userId);
      if (records === undefined) continue;
      const record = records[indexOfConnection(records, connId)];
      if (record !== undefined && record.expiresAt > now) record.expiresAt = expiresAt;
    }
  }

  async lookup(userIds: readonly string[]): Promise<Map<string, PresenceEntry[]>> {
    this.assertOpen();
    const now = performance.now();
    const result = new Map<string, PresenceEntry[]>();
    for (const userId of userIds) {
      const records = this.users.get(userId);
      if (records === undefined) continue;
      if (trimExpired(records, now)) {
        this.users.delete(userId);
        continue;
      }
      const entries = new Array<PresenceEntry>(records.length);
      for (let i = 0; i < records.length; i++) entries[i] = (records[i] as ConnectionRecord).entry;
      result.set(userId, entries);
    }
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweep.stop();
    this.users.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new TroupeError('closed', 'the presence store is closed');
  }
}
