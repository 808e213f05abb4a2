/**
 * Where repo placement lives in the coordinator, and what its values hold (docs/architecture.md,
 * "Single writer per repo shard"):
 *
 * - `/troupe/<cluster>/nodes/repo/<nodeId>`: a live repo node, under its lease;
 * - `/troupe/<cluster>/claims/repo/<shard>`: the claim of a shard by its owner, under the
 *   owner's lease; its create revision is the shard's fencing epoch.
 *
 * Both values are JSON `{ nodeId, address }`, where `address` is the `host:port` of the node's
 * gRPC server, so a router learns where to send a shard's calls from the claim alone. The
 * registration may also carry `ops`, the `http://host:port` of the node's /readyz, /units and
 * /metrics, for `troupe status`.
 */

import { partitionFor } from '../../transport/log/partitioner.js';

/**
 * The repo shard of a routing key (transport/store/grpc-routing.ts): Kafka's murmur2 rule
 * (transport/log/partitioner.ts) over `shards`. The one shard function: callers route by it
 * (shard-routes.ts), repo nodes refuse keys of shards they do not own by it (shard-stores.ts)
 * and group-commit by it (group-commit-store.ts), so all of them always agree.
 */
export function repoShardOf(key: string, shards: number): number {
  return partitionFor(key, shards);
}

/** The placement unit of a repo shard, `repo/<shard>`: its name in the epochs table and in /units. */
export function repoShardUnit(shard: number): string {
  return `repo/${shard}`;
}

/** A repo node as registered and as written into its claims. */
export interface RepoNode {
  nodeId: string;
  /** `host:port` of the node's gRPC server. */
  address: string;
  /** `http://host:port` of its ops listener (registration only; absent in claims). */
  ops?: string;
}

export function repoNodesPrefix(cluster: string): string {
  return `/troupe/${cluster}/nodes/repo/`;
}

export function repoClaimsPrefix(cluster: string): string {
  return `/troupe/${cluster}/claims/repo/`;
}

export function repoNodeKey(cluster: string, nodeId: string): string {
  return `${repoNodesPrefix(cluster)}${nodeId}`;
}

export function repoClaimKey(cluster: string, shard: number): string {
  return `${repoClaimsPrefix(cluster)}${shard}`;
}

export function encodeRepoNode(node: RepoNode): string {
  return JSON.stringify({ nodeId: node.nodeId, address: node.address, ...(node.ops === undefined ? {} : { ops: node.ops }) });
}

/** The node a registry or claim value names; undefined for a value that is not one. */
export function decodeRepoNode(value: string): RepoNode | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { nodeId, address, ops } = parsed as Record<string, unknown>;
  if (typeof nodeId !== 'string' || typeof address !== 'string') return undefined;
  return { nodeId, address, ...(typeof ops === 'string' ? { ops } : {}) };
}

/** The shard a claim key under `claimsPrefix` names, if it is one of `0 .. shards - 1`. */
export function shardOfClaimKey(claimsPrefix: string, key: string, shards: number): number | undefined {
  if (!key.startsWith(claimsPrefix)) return undefined;
  const rest = key.slice(claimsPrefix.length);
  if (!/^(0|[1-9][0-9]*)$/.test(rest)) return undefined;
  const shard = Number(rest);
  return shard < shards ? shard : undefined;
}
