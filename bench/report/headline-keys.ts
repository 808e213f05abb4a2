/**
 * The names the bench core writes into a run and the reports read back: headline keys and the
 * scenario parameters the targets depend on. Both sides import them from here, so a
 * renamed figure breaks the build instead of silently showing as "not measured".
 */
import type { Headline } from './types.js';

/** Headline keys (Headline.key). Units are those of `HEADLINE_SPECS`. */
export const HEADLINE_KEYS = {
  /** ramp: the highest offered rate whose p99 delivery stayed under 50 ms (msgs/s). */
  maxRateP99Under50ms: 'max_rate_p99_under_50ms',
  /** direct, group, sync: ack latency from the intended send time (ms). */
  ackP50: 'ack_p50',
  ackP99: 'ack_p99',
  /** direct, group, sync: delivery latency from the intended send time (ms). */
  deliveryP50: 'delivery_p50',
  deliveryP99: 'delivery_p99',
  /** connect: growth of server RSS divided by the idle authenticated sockets (bytes). */
  rssPerIdleSocket: 'rss_per_idle_socket',
  /** connect: from the first login to the last socket ready (s). */
  timeToAllReady: 'time_to_all_ready',
  /** connect: sockets ready per second (sockets/s). */
  connectRate: 'connect_rate',
  /** RSS growth per active conversation once its in-memory state is full (bytes). */
  memoryPerConversation: 'memory_per_conversation',
  /** sync: reconnect and history pull, p99 (ms). */
  syncP99: 'sync_p99',
  /** direct, group: CPU of the Troupe processes (every role process of a cluster, or the embedded server) over the window / messages sent in it (ms). */
  rolesCpuPerMessage: 'roles_cpu_per_message',
  /** direct, group: the same over every server process, services included (ms). */
  serverCpuPerMessage: 'server_cpu_per_message',
  /** idle: CPU of the Troupe processes together with no load, percent of one core (%). */
  rolesIdleCpu: 'roles_idle_cpu',
  /** idle: the same over every server process, services included (%). */
  serverIdleCpu: 'server_idle_cpu',
} as const;

export type HeadlineKey = (typeof HEADLINE_KEYS)[keyof typeof HEADLINE_KEYS];

/** Unit, direction and the label a reader sees, per key: one place, so every run labels a figure the same way. */
export const HEADLINE_SPECS: Readonly<Record<HeadlineKey, Omit<Headline, 'key' | 'value'>>> = {
  max_rate_p99_under_50ms: { label: 'highest rate with p99 delivery < 50 ms', unit: 'msgs/s', better: 'higher' },
  ack_p50: { label: 'ack p50', unit: 'ms', better: 'lower' },
  ack_p99: { label: 'ack p99', unit: 'ms', better: 'lower' },
  delivery_p50: { label: 'delivery p50', unit: 'ms', better: 'lower' },
  delivery_p99: { label: 'delivery p99', unit: 'ms', better: 'lower' },
  rss_per_idle_socket: { label: 'server RSS per idle socket', unit: 'bytes', better: 'lower' },
  time_to_all_ready: { label: 'time to all sockets ready', unit: 's', better: 'lower' },
  connect_rate: { label: 'connect rate', unit: 'sockets/s', better: 'higher' },
  memory_per_conversation: { label: 'memory per active conversation', unit: 'bytes', better: 'lower' },
  sync_p99: { label: 'sync p99', unit: 'ms', better: 'lower' },
  roles_cpu_per_message: { label: "Troupe processes' CPU per message", unit: 'ms', better: 'lower' },
  server_cpu_per_message: { label: "all server processes' CPU per message", unit: 'ms', better: 'lower' },
  roles_idle_cpu: { label: "Troupe processes' idle CPU (of one core)", unit: '%', better: 'lower' },
  server_idle_cpu: { label: "all server processes' idle CPU (of one core)", unit: '%', better: 'lower' },
};

/** A headline with the key's standard label, unit and direction. */
export function headline(key: HeadlineKey, value: number): Headline {
  return { key, value, ...HEADLINE_SPECS[key] };
}

/**
 * ScenarioRun.params names the target checks read: the offered rate of `direct` (msgs/s), the
 * online members of `group` and its members in all (absent from runs made before --members: then
 * every member was online), and the sockets `connect` opened.
 */
export const SCENARIO_PARAMS = {
  rate: 'rate',
  groupSize: 'groupSize',
  members: 'members',
  sockets: 'sockets',
} as const;
