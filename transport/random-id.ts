/**
 * Random url-safe ids drawn from a pooled buffer: one `randomFillSync` per 4 KiB of ids instead
 * of one per id (ids are made for every message and every request, and a synchronous system
 * call each time showed in profiles).
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;

/** `bytes` random bytes (at most 64) as base64url: 4 characters per 3 bytes. */
export function randomId(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return id;
}
