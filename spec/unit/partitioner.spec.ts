import { expect } from 'chai';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { partitionFor } from '../../transport/log/partitioner.js';
import { TroupeError } from '../../transport/errors.js';

/** Deterministic PRNG (mulberry32), so a failing key can be reproduced. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keys of every kind the partitioner may see: ASCII ids, any UTF-16 (CJK, emoji, lone surrogates), long ones. */
function randomKeys(count: number, next: () => number): string[] {
  const keys: string[] = [];
  const int = (n: number) => Math.floor(next() * n);
  for (let i = 0; i < count; i++) {
    // Every 40th key is long enough to outgrow the partitioner's reused buffer.
    const kind = i % 40 === 39 ? 3 : i % 3;
    const length = kind === 3 ? 300 + int(3000) : 1 + int(40);
    const units: number[] = [];
    for (let j = 0; j < length; j++) {
      if (kind === 0) units.push(0x20 + int(0x5f));
      else if (kind === 1) units.push(int(0x10000));
      else if (kind === 2) {
        const codePoint = 0x10000 + int(0x100000);
        units.push(0xd800 + ((codePoint - 0x10000) >> 10), 0xdc00 + ((codePoint - 0x10000) & 0x3ff));
      } else units.push(int(0x800));
    }
    keys.push(String.fromCharCode(...units));
  }
  return keys;
}

function kafkajsPartitionOf(partitioner: ReturnType<typeof Partitioners.DefaultPartitioner>, key: string, count: number): number {
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

describe('partitionFor', () => {
  const counts = [1, 2, 3, 4, 7, 16, 64, 1000];

  it('agrees with kafkajs DefaultPartitioner for thousands of ASCII, non-ASCII and long keys', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const keys = randomKeys(4000, random(0x7209));
    let checked = 0;
    for (const key of keys) {
      for (const count of counts) {
        const expected = kafkajsPartitionOf(partitioner, key, count);
        const actual = partitionFor(key, count);
        if (actual !== expected) {
          expect.fail(`key ${JSON.stringify(key)} with ${count} partitions: got ${actual}, kafkajs ${expected}`);
        }
        checked++;
      }
    }
    expect(checked).to.equal(keys.length * counts.length);
  });

  it('agrees with kafkajs for ids shaped like conversation and user ids', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 2000; i++) {
      const key = `conv-${i.toString(36)}-${(i * 7919).toString(16)}`;
      expect(partitionFor(key, 16), key).to.equal(kafkajsPartitionOf(partitioner, key, 16));
    }
  });

  it('spreads keys over every partition', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(partitionFor(`user-${i}`, 16));
    expect(seen.size).to.equal(16);
  });

  it('rejects a partition count that is not a positive integer', () => {
    for (const count of [0, -1, 1.5, Number.NaN]) {
      expect(() => partitionFor('k', count), String(count)).to.throw(TroupeError).with.property('code', 'invalid_argument');
    }
  });
});
