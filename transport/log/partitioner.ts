/**
 * Which partition a record's key lands on.
 *
 * The rule is Kafka's default partitioner (and kafkajs' `Partitioners.DefaultPartitioner`):
 * `(murmur2(utf8(key)) & 0x7fffffff) % partitionCount`. Both log implementations use it, so a
 * conversation lands on the same partition in embedded and cluster mode, and a Kafka topic
 * written by other Kafka clients agrees with ours. spec/unit/partitioner.spec.ts checks it
 * against kafkajs itself.
 */

import { TroupeError } from '../errors.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Keys up to this many UTF-8 bytes are hashed in a reused buffer; longer ones allocate. */
const MAX_SCRATCH_BYTES = 64 * 1024;

/** Reused for every key, so hashing a key allocates nothing once the buffer is big enough. */
let scratch = Buffer.allocUnsafe(256);

export function partitionFor(key: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new TroupeError('invalid_argument', `partition count must be a positive integer, got ${partitionCount}`);
  }
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes (a lone surrogate becomes U+FFFD,
  // as in Buffer.from), so this bound is safe without measuring the key first.
  const bound = key.length * 3;
  let bytes: Buffer;
  let length: number;
  if (bound <= scratch.length) {
    bytes = scratch;
    length = scratch.write(key, 0, 'utf8');
  } else if (bound <= MAX_SCRATCH_BYTES) {
    scratch = Buffer.allocUnsafe(2 ** Math.ceil(Math.log2(bound)));
    bytes = scratch;
    length = scratch.write(key, 0, 'utf8');
  } else {
    bytes = Buffer.from(key, 'utf8');
    length = bytes.length;
  }
  return (murmur2(bytes, length) & 0x7fffffff) % partitionCount;
}

/**
 * 32-bit murmur2 of the first `length` bytes, as Kafka's Java client computes it. All
 * arithmetic is modulo 2^32 (Math.imul and int32 bit operations).
 */
function murmur2(bytes: Uint8Array, length: number): number {
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= bytes[whole + 2]! << 16;
  if (rest >= 2) h ^= bytes[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= bytes[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}
