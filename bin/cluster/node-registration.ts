/**
 * The value of a node's registration in etcd, `/troupe/<cluster>/nodes/<role>/<nodeId>` (repo
 * nodes write the same fields through their shard placement, actors/repo/placement-keys.ts):
 * who the node is, where its ops endpoints answer (`ops`: read by `troupe status` and by its
 * peers' probes, bin/cluster/peer-failover.ts) and its member id in its consumer group (`member`).
 */
export interface NodeRegistration {
  nodeId?: string;
  role?: string;
  pid?: number;
  ops?: string;
  member?: string;
}

export function encodeNodeRegistration(registration: NodeRegistration): string {
  return JSON.stringify(registration);
}

/** The fields of a registration (or claim) value that have their type; {} for a value that is not JSON. */
export function decodeNodeRegistration(value: string): NodeRegistration {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const { nodeId, role, pid, ops, member } = parsed as Record<string, unknown>;
  return {
    ...(typeof nodeId === 'string' ? { nodeId } : {}),
    ...(typeof role === 'string' ? { role } : {}),
    ...(typeof pid === 'number' ? { pid } : {}),
    ...(typeof ops === 'string' ? { ops } : {}),
    ...(typeof member === 'string' ? { member } : {}),
  };
}
