/**
 * `troupe local-cluster`: a whole cluster on this machine, without Docker, for people trying the
 * cluster mode and for the cluster specs. It starts MariaDB, Redis, etcd and the Kafka mock on
 * private ports (each in its own temporary folder; one line says where each is), applies the
 * migrations, then starts every role
 * as its own process: repo nodes first (logic and gateways call them), then logic, task and
 * gateways, each awaited until its /readyz answers. The cluster's folder holds one log file per
 * process and the gateways' shared signing keys; `stop()` ends the roles (gateways first, each
 * draining), then the services, and removes every folder. For fault drills, `addRole` starts one
 * more node of a role under a fresh node id, and `restartService` restarts Redis, MariaDB or etcd
 * on the same port and data under the running roles.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { migrateLatest } from '../../sql/migrate.js';
import { loadOrCreateSigningKeys } from '../signing-keys.js';
import { openMysqlStore } from '../../transport/store/mysql.js';
import { startEtcd, type EtcdService } from '../services/etcd.js';
import { startKafkaMock, type KafkaMock } from '../services/kafka-mock.js';
import { startMariadb, type MariadbService } from '../services/mariadb.js';
import { freePort } from '../services/processes.js';
import { startRedis, type RedisService } from '../services/redis.js';
import { RoleProcess, type LocalRole } from './role-process.js';

export interface LocalClusterOptions {
  gateways: number;
  logic: number;
  repo: number;
  task: number;
  /** First port of the gateways (then the gRPC and ops ports after them); absent: free ports. */
  basePort?: number;
  /** Cluster name (etcd key prefix). Default `local`. */
  cluster?: string;
  /** Upstream partitions. Default 16. */
  upstreamPartitions?: number;
  /** A configuration file given to every role as --config (e.g. a lower large-group threshold). */
  configFile?: string;
  /** Extra TROUPE_ variables given to every role. */
  env?: Record<string, string>;
  /**
   * The TROUPE_ variables of whoever started the cluster (the CLI passes its environment's): every
   * role gets them, over the launcher's tuning (fetch waits, session timeout) but under the
   * wiring of its own services, ports and folders, which they cannot redirect.
   */
  callerEnv?: Record<string, string>;
  /** Called with one line per service (`etcd <url>`, …), one per started process, then `cluster ready`. */
  onLine?: (line: string) => void;
  /** How long one process may take to become ready. Default 60 s. */
  readyTimeoutMs?: number;
  /** The troupe script the roles run (`bin/troupe.ts` or `dist/bin/troupe.js`); default this process's own script. */
  entry?: string;
  /**
   * Start a role again (same node id and ports) when it ends on its own, as a supervisor would:
   * a node exits on purpose when it lost its lease (3) or its consumer (4). Default true; false
   * (`--no-restart`) reports it and leaves it dead, for fault drills where a restarted node
   * would hide whether the survivors took over.
   */
  restart?: boolean;
}

export interface LocalCluster {
  dir: string;
  processes: RoleProcess[];
  /** `http://127.0.0.1:<port>` of every gateway. */
  gatewayUrls: string[];
  services: { mysqlUrl: string; redisUrl: string; etcd: string; brokers: string };
  /**
   * Starts one more node of `role` with the next node id (`logic-3` after `logic-1` and
   * `logic-2`), the cluster's settings and fresh ports, supervised like the others; resolves once
   * its /readyz answers 200 (its line printed).
   */
  addRole(role: 'logic' | 'repo' | 'task'): Promise<RoleProcess>;
  /**
   * Restarts a service under the running roles, on the same port and data: Redis saves its data
   * and shuts down, MariaDB shuts down cleanly, etcd is killed (its log keeps every committed
   * change); each is started again and awaited until it serves.
   */
  restartService(service: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

export type ServiceName = 'redis' | 'mysql' | 'etcd';

const UPSTREAM = 'im-upstream';
const TASK = 'im-task';
const DOWNSTREAM_PREFIX = 'im-downstream-';

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const cluster = options.cluster ?? 'local';
  const partitions = options.upstreamPartitions ?? 16;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const say = options.onLine ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'troupe-local-cluster-'));
  const processes: RoleProcess[] = [];
  let mariadb: MariadbService | undefined;
  let redis: RedisService | undefined;
  let etcd: EtcdService | undefined;
  let kafka: KafkaMock | undefined;

  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    // Gateways first (clients go), then logic and task (they finish in flight), repo last.
    const order: LocalRole[] = ['gateway', 'logic', 'task', 'repo'];
    for (const role of order) await Promise.all(processes.filter((p) => p.spec.role === role).map((p) => p.stop(20_000)));
    await Promise.all([kafka?.stop(), redis?.stop(), etcd?.stop(), mariadb?.stop()].map((p) => p?.catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // Role i's node id is `<role>-<i>`; the gateways' downstream topics are made before they start.
    const gatewayIds = range(options.gateways).map((i) => `gateway-${i}`);
    [mariadb, redis, etcd, kafka] = await Promise.all([
      startMariadb(),
      startRedis(),
      startEtcd(),
      startKafkaMock({
        brokers: 1,
        topics: [
          { topic: UPSTREAM, partitions },
          { topic: TASK, partitions: 8 },
          ...gatewayIds.map((id) => ({ topic: DOWNSTREAM_PREFIX + id, partitions: 4 })),
        ],
      }),
    ]);
    const mysqlUrl = await mariadb.createDatabase('troupe');
    const { knex } = await openMysqlStore(mysqlUrl);
    try {
      await migrateLatest(knex);
    } finally {
      await knex.destroy();
    }
    const services = { mysqlUrl, redisUrl: redis.url, etcd: etcd.endpoint, brokers: kafka.brokers.join(',') };
    // Where the services are, for `troupe config --etcd …`, a MySQL client or a Kafka tool.
    say(`mysql ${mysqlUrl}`);
    say(`redis ${services.redisUrl}`);
    say(`etcd ${services.etcd}`);
    say(`kafka ${services.brokers}`);

    let nextPort = options.basePort;
    const port = async (): Promise<number> => (nextPort === undefined ? freePort() : nextPort++);
    const common = roleEnvironment(options.callerEnv ?? {}, {
      TROUPE_NODE__CLUSTER: cluster,
      TROUPE_CLUSTER__BROKERS: services.brokers,
      TROUPE_CLUSTER__KAFKA_CONTROLLER_FALLBACK: 'true',
      TROUPE_CLUSTER__ETCD: services.etcd,
      TROUPE_CLUSTER__REDIS_URL: services.redisUrl,
      TROUPE_STORAGE__CLIENT: 'mysql',
      TROUPE_STORAGE__URL: mysqlUrl,
      TROUPE_LOG__UPSTREAM_PARTITIONS: String(partitions),
      TROUPE_DATA_DIR: join(dir, 'data'),
      TROUPE_AUTH__KEYS_DIR: join(dir, 'keys'),
    }, options.env ?? {});
    const gatewayPorts: number[] = [];
    for (let i = 0; i < options.gateways; i++) gatewayPorts.push(await port());

    /** Starts `count` nodes of `role`, numbered from `first`, and waits until each is ready. */
    const launch = async (role: LocalRole, count: number, portsOf: (i: number) => Promise<{ env: Record<string, string>; readyPort: number }>, first = 1): Promise<RoleProcess[]> => {
      const started: RoleProcess[] = [];
      for (let i = 0; i < count; i++) {
        const nodeId = `${role}-${first + i}`;
        const { env, readyPort } = await portsOf(i);
        const args = options.configFile === undefined ? [] : ['--config', resolve(options.configFile)];
        const child = new RoleProcess({ role, nodeId, entry: options.entry ?? process.argv[1]!, args, env: { ...common, TROUPE_NODE__ID: nodeId, ...env }, readyPort, logDir: dir });
        processes.push(child);
        started.push(child);
        supervise(child);
      }
      for (const child of started) {
        await child.whenReady(readyTimeoutMs);
        const url = child.spec.role === 'gateway' ? ` http://127.0.0.1:${child.spec.readyPort}` : '';
        say(`${child.spec.role} ${child.spec.nodeId} pid ${child.pid}${url}`);
      }
      return started;
    };
    /** Starts `child`'s role again when it ends while the cluster runs (see `restart`). */
    const supervise = (child: RoleProcess): void => {
      child.child.once('exit', () => {
        if (stopping) return;
        say(`${child.spec.role} ${child.spec.nodeId} pid ${child.pid} ended (${child.exited}); ${options.restart === false ? 'not restarted (--no-restart)' : 'restarting'}`);
        if (options.restart === false) return;
        setTimeout(() => {
          if (stopping) return;
          const again = new RoleProcess(child.spec);
          processes[processes.indexOf(child)] = again;
          supervise(again);
          say(`${again.spec.role} ${again.spec.nodeId} pid ${again.pid} restarted`);
        }, 1000).unref();
      });
    };
    const opsOnly = async (): Promise<{ env: Record<string, string>; readyPort: number }> => {
      const ops = await port();
      return { env: { TROUPE_OPS__HOST: '127.0.0.1', TROUPE_OPS__PORT: String(ops) }, readyPort: ops };
    };
    const repoPorts = async (): Promise<{ env: Record<string, string>; readyPort: number }> => {
      const rpc = await port();
      const ops = await port();
      return {
        env: { TROUPE_RPC__HOST: '127.0.0.1', TROUPE_RPC__PORT: String(rpc), TROUPE_RPC__ADVERTISE: `127.0.0.1:${rpc}`, TROUPE_OPS__HOST: '127.0.0.1', TROUPE_OPS__PORT: String(ops) },
        readyPort: ops,
      };
    };
    await launch('repo', options.repo, repoPorts);
    await launch('logic', options.logic, opsOnly);
    await launch('task', options.task, opsOnly);
    // Every gateway must sign with the same key: make it before they start, rather than let two
    // gateways race to create one in an empty folder.
    await loadOrCreateSigningKeys(common.TROUPE_AUTH__KEYS_DIR!);
    await launch('gateway', options.gateways, async (i) => ({
      env: { TROUPE_GATEWAY__HOST: '127.0.0.1', TROUPE_GATEWAY__PORT: String(gatewayPorts[i]) },
      readyPort: gatewayPorts[i]!,
    }));
    say('cluster ready');
    const addRole = async (role: 'logic' | 'repo' | 'task'): Promise<RoleProcess> => {
      if (stopping) throw new Error('the local cluster is stopping');
      const taken = new Set(processes.filter((p) => p.spec.role === role).map((p) => p.spec.nodeId));
      let n = 1;
      while (taken.has(`${role}-${n}`)) n++;
      const [child] = await launch(role, 1, role === 'repo' ? repoPorts : opsOnly, n);
      return child!;
    };
    const restartService = async (service: ServiceName): Promise<void> => {
      if (stopping) throw new Error('the local cluster is stopping');
      if (service === 'redis') await redis!.restart();
      else if (service === 'mysql') await mariadb!.restart();
      else {
        await etcd!.down();
        await etcd!.up();
      }
    };
    return { dir, processes, gatewayUrls: gatewayPorts.map((p) => `http://127.0.0.1:${p}`), services, addRole, restartService, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** The launcher's tuning of every role for the Kafka mock; the caller's own TROUPE_ settings override it. */
export const MOCK_TUNING: Readonly<Record<string, string>> = {
  // The mock holds every fetch for its whole max wait, even when records arrive: keep it short
  // while records come, and longer once a consumer is idle, so that an idle cluster hardly
  // polls (the first record after a quiet second may wait that long per hop).
  TROUPE_CLUSTER__KAFKA_FETCH_MAX_WAIT_MS: '20',
  TROUPE_CLUSTER__KAFKA_FETCH_IDLE_WAIT_MS: '100',
  // The mock holds every rebalance for the session timeout less a second: keep it short too,
  // but above the 3 s it holds a new group's first join (a member would time out waiting).
  TROUPE_CLUSTER__KAFKA_SESSION_TIMEOUT_MS: '3500',
  TROUPE_CLUSTER__KAFKA_HEARTBEAT_MS: '400',
};

/**
 * What every role's environment starts from, lowest precedence first: the launcher's tuning,
 * the caller's TROUPE_ variables, the wiring of the launcher's services and folders (which the
 * caller cannot redirect), then `extra` (the `env` option). Each role adds its id and ports.
 */
export function roleEnvironment(callerEnv: Record<string, string>, wiring: Record<string, string>, extra: Record<string, string>): Record<string, string> {
  return { ...MOCK_TUNING, ...callerEnv, ...wiring, ...extra };
}
