/**
 * The JSON a `troupe bench` run writes (bench/out/<stamp>.json), and the only input of the
 * HTML report and the markdown ratio table: a report can be rendered again from a saved run.
 *
 * Latencies are milliseconds, rates are per second, memory is bytes unless a name says
 * otherwise. A figure that was not measured is absent, never 0.
 */

export interface BenchRun {
  /** Bump when a field changes meaning. */
  schema: 1;
  startedAt: string;
  finishedAt: string;
  /** The command as typed (argv after `troupe bench`), so a reader can run it again. */
  command: string;
  machine: MachineInfo;
  /** CPU pinning used, if any (`taskset` lists), per side. */
  pinning?: { server?: string; generator?: string };
  targets: TargetRun[];
}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  os: string;
  node: string;
  troupeVersion: string;
  /** git commit of the checkout, when run from one. */
  commit?: string;
}

/** The roles a target plays in a comparison: Troupe is the subject; ratios are subject / peer and subject / bound. */
export type TargetRole = 'subject' | 'peer' | 'bound';

export interface TargetRun {
  /** Stable key: `embedded`, `cluster`, `url`, `socketio`, `uws`. */
  target: string;
  /** What a reader sees, e.g. "Troupe embedded", "Socket.IO 4 + redis-adapter + MariaDB (2 processes)". */
  label: string;
  role: TargetRole;
  scenarios: ScenarioRun[];
  /** Why a scenario was not run on this target (e.g. sync on the uws bound, which stores nothing). */
  skipped?: Array<{ scenario: ScenarioName; why: string }>;
}

export type ScenarioName = 'connect' | 'direct' | 'group' | 'sync' | 'ramp' | 'idle';

export interface ScenarioRun {
  scenario: ScenarioName;
  /** The parameters that shaped it (rate, pairs, group size, duration, sockets, p99 bound…). */
  params: Record<string, number | string | boolean>;
  /** The figures a comparison puts side by side; `better` says which way is good. */
  headline: Headline[];
  /** One point per second (or per ramp step) of the run. */
  timeline: TimelinePoint[];
  /** The latency percentile curve over the whole measured window. */
  percentiles: PercentilePoint[];
  ack?: LatencySummary;
  delivery?: LatencySummary;
  correctness: Correctness;
  /** ramp only: every rate tried, in order, and whether it held. */
  steps?: RampStep[];
  /** A target the issue sets for this figure, and whether it was met (filled by the scenario). */
  notes?: string[];
  /** direct, group, idle: the server's CPU over the measured window by kind of process (bench/lib/process-cpu.ts). */
  processCpu?: ProcessCpu;
  /** direct, group, idle: what one wakeup costs on this machine, measured right after the window (bench/lib/wakeup-floor.ts). */
  wakeupFloor?: WakeupFloor;
}

/**
 * CPU the server's processes spent over a measured window, read from /proc/<pid>/stat at its start
 * and end, one row per kind of process (told from its command line) and rows that sum kinds.
 */
export interface ProcessCpu {
  /** Wall time between the two readings, seconds. */
  windowSec: number;
  /** Messages sent in the window, which the per-message figures divide by; absent when none were (idle). */
  messages?: number;
  rows: ProcessCpuRow[];
}

export interface ProcessCpuRow {
  /**
   * A kind (`gateway`, `logic`, `repo`, `task`, `embedded`, `mariadb`, `redis`, `etcd`,
   * `kafka-mock`, `other`), `gateway-busiest` (the one gateway that spent most), or a sum:
   * `roles` (every Troupe process), `services` (MariaDB, Redis, etcd, Kafka mock), `server` (every
   * process, when there are others than Troupe's).
   */
  key: string;
  label: string;
  /** Processes the row adds up (1 for `gateway-busiest`). */
  processes: number;
  /** CPU spent in the window, milliseconds (user + system). */
  cpuMs: number;
  /** The same in percent of one core. */
  cpuPct: number;
  /**
   * Milliseconds of CPU per message: cpuMs / messages when the readings came on time; in general
   * CPU per second between the readings over messages per second of the send window. Absent when
   * no message was sent.
   */
  msPerMessage?: number;
}

/**
 * The machine's wakeup floor: two processes (Node, like Troupe's) doing a TCP ping-pong over
 * loopback, their CPU (both together, from process.cpuUsage) per round trip. With a gap between
 * messages both sleep and are woken for each; back to back they barely do.
 */
export interface WakeupFloor {
  gapMs: number;
  /** Round trips with the gap, and CPU per round trip, microseconds. */
  gappedRoundTrips: number;
  gappedUsPerRoundTrip: number;
  backToBackRoundTrips: number;
  backToBackUsPerRoundTrip: number;
}

export interface Headline {
  /** Stable key, e.g. `max_rate_p99_under_50ms`, `delivery_p99`, `rss_per_idle_socket`. */
  key: string;
  label: string;
  value: number;
  unit: 'msgs/s' | 'ms' | 'bytes' | 'sockets/s' | 's' | '%';
  better: 'higher' | 'lower';
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface TimelinePoint {
  /** Seconds since the scenario's measured window began. */
  t: number;
  sentPerSec?: number;
  ackedPerSec?: number;
  deliveredPerSec?: number;
  ackP50?: number;
  ackP99?: number;
  deliveryP50?: number;
  deliveryP99?: number;
  /** CPU of every server process, in percent of one core. */
  serverCpuPct?: number;
  serverRssBytes?: number;
  generatorCpuPct?: number;
  /** connect only: sockets ready so far. */
  readySockets?: number;
}

export interface PercentilePoint {
  /** e.g. 50, 90, 99, 99.9, 99.99, 100. */
  percentile: number;
  ackMs?: number;
  deliveryMs?: number;
}

export interface Correctness {
  sent: number;
  acked: number;
  /** `msg` frames received / expected (each send times its online recipients). */
  delivered: number;
  expectedDeliveries: number;
  /** Acked but missing from history or deliveries after the drain. */
  lost: number;
  duplicated: number;
  reordered: number;
  errors: number;
  unexpectedCloses: number;
  ok: boolean;
}

export interface RampStep {
  rate: number;
  held: boolean;
  ackP99: number;
  deliveryP99: number;
  achievedPerSec: number;
  serverCpuPct?: number;
}
