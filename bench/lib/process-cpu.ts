/**
 * The server's CPU over a window by kind of process: a cluster is many processes (gateways, logic,
 * repo and task nodes, MariaDB, Redis, etcd, the Kafka mock), and "server CPU" summed over all of
 * them cannot say which one a message costs. Each process's kind is told from its command line
 * (/proc/<pid>/cmdline), its CPU read from /proc/<pid>/stat (utime + stime) at the window's start
 * and end, and the differences summed per kind, per group (the Troupe processes, the services)
 * and divided by the messages sent in the window.
 */
import { readFile } from 'node:fs/promises';
import type { ProcessCpu, ProcessCpuRow } from '../report/types.js';
import { cpuPercent, readCpuMillis } from './proc-stats.js';

export type RoleKind = 'gateway' | 'logic' | 'repo' | 'task' | 'embedded';
export type ServiceKind = 'mariadb' | 'redis' | 'etcd' | 'kafka-mock';
export type ProcessKind = RoleKind | ServiceKind | 'other';

/** Kinds in the order the reports list them, with what a reader sees. */
const ROLE_KINDS: ReadonlyArray<[RoleKind, string]> = [
  ['gateway', 'gateway'],
  ['logic', 'logic'],
  ['repo', 'repo'],
  ['task', 'task'],
  ['embedded', 'Troupe embedded (every role)'],
];
const SERVICE_KINDS: ReadonlyArray<[ServiceKind, string]> = [
  ['mariadb', 'MariaDB'],
  ['redis', 'Redis'],
  ['etcd', 'etcd'],
  ['kafka-mock', 'Kafka mock'],
];

/** Row keys of the sums and of the busiest gateway (ProcessCpuRow.key). */
export const CPU_ROW_KEYS = { roles: 'roles', services: 'services', server: 'server', busiestGateway: 'gateway-busiest' } as const;

const TROUPE_COMMANDS: Readonly<Record<string, RoleKind>> = { gateway: 'gateway', logic: 'logic', repo: 'repo', task: 'task', dev: 'embedded' };

/**
 * A process's kind from its command line (argv as /proc/<pid>/cmdline holds it). Troupe is
 * `node [flags] …/troupe.js|ts <command>`; Redis rewrites its title to one string with spaces
 * ("/usr/bin/redis-server 127.0.0.1:6379"), so each program is known by the first word's base name.
 */
export function processKind(argv: readonly string[]): ProcessKind {
  const script = argv.findIndex((arg) => /(?:^|\/)troupe\.[cm]?[jt]s$/.test(arg));
  if (script !== -1) return TROUPE_COMMANDS[argv[script + 1] ?? ''] ?? 'other';
  const program = (argv[0] ?? '').trim().split(/\s+/)[0]!.split('/').pop()!;
  if (program === 'mariadbd' || program === 'mysqld') return 'mariadb';
  if (program === 'redis-server') return 'redis';
  if (program === 'etcd') return 'etcd';
  if (program.startsWith('kafka-mock-launcher')) return 'kafka-mock';
  return 'other';
}

/** The argv of a running process; empty when it has ended (or is a kernel thread). */
export async function readCommandLine(pid: number): Promise<string[]> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return raw.split('\0').filter((arg) => arg !== '');
}

/** CPU so far (ms) of each process at one moment. */
export interface CpuReading {
  /** Epoch ms. */
  at: number;
  millis: Map<number, number>;
}

export interface KindedProcess {
  pid: number;
  kind: ProcessKind;
}

/**
 * The rows of a window from two readings: per kind present (with the busiest gateway right after
 * the gateways when there are several), the Troupe processes together, the services together,
 * and every process together when there are others than Troupe's. A process missing from either reading (it ended) counts as having spent nothing.
 */
export function cpuByKind(processes: readonly KindedProcess[], start: CpuReading, end: CpuReading, messages?: number, sendWindowMs?: number): ProcessCpu {
  const wallMs = end.at - start.at;
  // A reading a little late (a busy timer) widens the CPU window, not the send window: per message
  // is CPU per second of the readings over messages per second of the sends.
  const scale = sendWindowMs !== undefined && sendWindowMs > 0 && wallMs > 0 ? sendWindowMs / wallMs : 1;
  const spent = (pid: number): number => {
    const [from, to] = [start.millis.get(pid), end.millis.get(pid)];
    return from === undefined || to === undefined ? 0 : Math.max(0, to - from);
  };
  const perMessage = messages !== undefined && messages > 0 ? messages : undefined;
  const row = (key: string, label: string, pids: readonly number[]): ProcessCpuRow => {
    const cpuMs = pids.reduce((sum, pid) => sum + spent(pid), 0);
    return {
      key, label, processes: pids.length, cpuMs, cpuPct: cpuPercent(cpuMs, wallMs),
      ...(perMessage === undefined ? {} : { msPerMessage: (cpuMs * scale) / perMessage }),
    };
  };
  const pidsOf = (kinds: readonly ProcessKind[]): number[] => processes.filter((p) => kinds.includes(p.kind)).map((p) => p.pid);
  const rows: ProcessCpuRow[] = [];
  const kindRows = (kinds: ReadonlyArray<[ProcessKind, string]>): void => {
    for (const [kind, label] of kinds) {
      const pids = pidsOf([kind]);
      if (pids.length === 0) continue;
      rows.push(row(kind, label, pids));
      if (kind === 'gateway' && pids.length > 1) {
        const busiest = pids.reduce((a, b) => (spent(b) > spent(a) ? b : a));
        rows.push(row(CPU_ROW_KEYS.busiestGateway, 'busiest gateway', [busiest]));
      }
    }
  };
  kindRows(ROLE_KINDS);
  const roles = pidsOf(ROLE_KINDS.map(([kind]) => kind));
  if (roles.length > 0) rows.push(row(CPU_ROW_KEYS.roles, 'Troupe processes together', roles));
  kindRows(SERVICE_KINDS);
  const services = pidsOf(SERVICE_KINDS.map(([kind]) => kind));
  if (services.length > 0) rows.push(row(CPU_ROW_KEYS.services, 'services together', services));
  kindRows([['other', 'other server processes']]);
  if (roles.length < processes.length) rows.push(row(CPU_ROW_KEYS.server, 'every server process', processes.map((p) => p.pid)));
  return { windowSec: wallMs / 1000, ...(perMessage === undefined ? {} : { messages: perMessage }), rows };
}

/** The row of `key`, if the window has it. */
export function cpuRow(cpu: ProcessCpu | undefined, key: string): ProcessCpuRow | undefined {
  return cpu?.rows.find((r) => r.key === key);
}

/**
 * One window over a fixed set of server processes: their kinds are read once, then a reading is
 * taken at the window's start and one at its end, each at an instant given in advance (so a
 * window that begins in 300 ms, or ends before a drain, is read on time).
 */
export class ProcessCpuWindow {
  private start: Promise<CpuReading> | undefined;
  private end: Promise<CpuReading> | undefined;

  private constructor(private readonly processes: KindedProcess[]) {}

  /** Kinds of `pids`; undefined when there are none to read (a server on another machine). */
  static async of(pids: readonly number[]): Promise<ProcessCpuWindow | undefined> {
    if (pids.length === 0) return undefined;
    const processes = await Promise.all(pids.map(async (pid) => ({ pid, kind: processKind(await readCommandLine(pid)) })));
    return new ProcessCpuWindow(processes);
  }

  /** Takes the start reading at epoch ms `at` (at once when that has passed). */
  startAt(at = Date.now()): void {
    this.start = this.readAt(at);
  }

  /** Takes the end reading at epoch ms `at` (at once when that has passed). */
  endAt(at = Date.now()): void {
    this.end = this.readAt(at);
  }

  /** The window's rows, once both readings are in; per message when `messages` (sent over `sendWindowMs`, default the readings' window) is given. */
  async result(messages?: number, sendWindowMs?: number): Promise<ProcessCpu> {
    if (this.start === undefined || this.end === undefined) throw new Error('ProcessCpuWindow.result before startAt and endAt');
    return cpuByKind(this.processes, await this.start, await this.end, messages, sendWindowMs);
  }

  private readAt(at: number): Promise<CpuReading> {
    const wait = at - Date.now();
    return wait <= 0 ? this.read() : new Promise((resolve) => setTimeout(() => resolve(this.read()), wait));
  }

  private async read(): Promise<CpuReading> {
    const millis = new Map<number, number>();
    const at = Date.now();
    await Promise.all(this.processes.map(async ({ pid }) => {
      const ms = await readCpuMillis(pid).catch(() => undefined);
      if (ms !== undefined) millis.set(pid, ms);
    }));
    return { at, millis };
  }
}
