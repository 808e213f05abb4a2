/**
 * Which repo node should own a shard: rendezvous (highest-random-weight) hashing over the live
 * repo nodes (docs/architecture.md, "Partition hosting and claims").
 *
 * Every (shard, node) pair gets a pseudo-random 32-bit weight; the node with the highest weight
 * owns the shard. Each node computes this alone from the same list of live nodes and gets the
 * same answer, so no one has to decide placement. When a node joins, only the shards for which
 * it now has the highest weight move, and they all move to it; when a node leaves, only its own
 * shards move. Ties (equal weights, about one in 2^32) go to the smaller node id, so the order
 * of `nodeIds` never matters.
 *
 * The weight is deterministic across processes and versions of Node: FNV-1a over the node id's
 * UTF-8 bytes, combined with the shard number and passed through murmur3's 32-bit finalizer,
 * which spreads every input bit over every output bit. Changing it moves shards in a running
 * cluster whose nodes run different versions, so it must never change.
 */
import { TroupeError } from '../../transport/errors.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** 2^32 / golden ratio: spreads consecutive shard numbers far apart before mixing. */
const GOLDEN = 0x9e3779b9;

/** 32-bit FNV-1a of a node id's UTF-8 bytes, unsigned. */
export function nodeHash(nodeId: string): number {
  let h = FNV_OFFSET;
  for (const byte of Buffer.from(nodeId, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** The weight of `shard` for the node whose `nodeHash` is given: unsigned 32 bits. */
export function rendezvousWeight(shard: number, hashOfNode: number): number {
  return mix32(hashOfNode ^ mix32(Math.imul(shard + 1, GOLDEN)));
}

/** The node that should own `shard` among `nodeIds`; undefined when there is none. */
export function idealOwner(shard: number, nodeIds: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const nodeId of nodeIds) {
    const weight = rendezvousWeight(shard, nodeHash(nodeId));
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && nodeId < best)) {
      best = nodeId;
      bestWeight = weight;
    }
  }
  return best;
}

/**
 * The shards of `0 .. shards - 1` that `nodeId` should own among `nodeIds`, ascending. Empty
 * when `nodeId` is not among `nodeIds`.
 */
export function idealShards(nodeId: string, nodeIds: readonly string[], shards: number): number[] {
  if (!Number.isInteger(shards) || shards < 1) {
    throw new TroupeError('invalid_argument', `shard count must be a positive integer, got ${shards}`);
  }
  if (!nodeIds.includes(nodeId)) return [];
  const own = nodeHash(nodeId);
  const others = [...new Set(nodeIds)].filter((id) => id !== nodeId);
  const otherHashes = others.map(nodeHash);
  const result: number[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const weight = rendezvousWeight(shard, own);
    let wins = true;
    for (let i = 0; i < others.length && wins; i++) {
      const other = rendezvousWeight(shard, otherHashes[i] as number);
      if (other > weight || (other === weight && (others[i] as string) < nodeId)) wins = false;
    }
    if (wins) result.push(shard);
  }
  return result;
}

/** murmur3's fmix32: a bijection on 32 bits in which every input bit affects every output bit. */
function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
