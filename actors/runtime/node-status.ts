/**
 * What a node answers on `/readyz` and `/units`: whether it serves, why not, and the placement
 * units it holds (unit-registry.ts). Ops listeners (bin/ops-server.ts) and the gateway's HTTP API
 * answer both paths from the same NodeStatus, so an operator and `troupe status` read one shape
 * on every node, embedded or cluster (README, "Running a cluster").
 *
 * A node is ready when its own conditions hold (started, not draining, …) and its unit registry
 * has no problem. A node that has not joined its consumer group yet holds no units: its own
 * conditions decide, as before the registry existed.
 */
import type { UnitRegistry, UnitStatus } from './unit-registry.js';

/** The body of `GET /units`. */
export interface NodeStatus {
  nodeId: string;
  /** `gateway`, `logic`, `repo`, `task`, or `embedded` (every role in one process). */
  role: string;
  ready: boolean;
  /** Why the node is not ready, in words for people; empty when it is. */
  problems: string[];
  units: UnitStatus[];
}

/**
 * The node's status from its own problems (e.g. `draining`) followed by its units' problems.
 * `units` may be absent for a node that hosts none.
 */
export function nodeStatus(nodeId: string, role: string, problems: readonly string[], units: UnitRegistry | undefined): NodeStatus {
  const all = [...problems, ...(units?.problems() ?? [])];
  return { nodeId, role, ready: all.length === 0, problems: all, units: units?.snapshot() ?? [] };
}

/**
 * `GET /readyz`: 200 `{"status":"ready"}`, or 503 with the protocol's error body (code
 * `unavailable`) whose message names the problems, and the problems as a list beside it.
 */
export function readyzAnswer(status: NodeStatus): { status: number; body: unknown } {
  if (status.ready) return { status: 200, body: { status: 'ready' } };
  const message = status.problems.length === 0 ? 'not ready' : `not ready: ${status.problems.join('; ')}`;
  return { status: 503, body: { error: { code: 'unavailable', message }, problems: status.problems } };
}
