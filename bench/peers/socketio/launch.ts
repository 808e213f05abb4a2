/**
 * Starts the Socket.IO peer: MariaDB and Redis of its own (stores.ts), then two server processes
 * (server.ts), each on its own port and pinned when asked, sharing both. Users are spread over
 * the two ports by the benchmark, so a conversation's members sit on different processes and
 * its messages cross Redis, as they would behind a load balancer.
 *
 * serverPids() counts the whole peer stack: both Node processes, mysqld and redis-server, so its
 * CPU and RSS are compared with everything Troupe runs in its one process.
 */
import { randomBytes } from 'node:crypto';
import { freePort } from '../../../bin/services/processes.js';
import type { LaunchOptions, RunningTarget } from '../../lib/running-target.js';
import { scriptBeside, startPeerProcess, type PeerProcess } from '../peer-process.js';
import { startPeerStores } from './stores.js';
import { socketIoWire } from './wire.js';

const PROCESSES = 2;

export async function launchSocketIoPeer(options: LaunchOptions): Promise<RunningTarget> {
  const stores = await startPeerStores(options.pinServer, options.progress);
  let servers: PeerProcess[];
  try {
    servers = await startServers(options, {
      PEER_MYSQL_URL: stores.mysqlUrl,
      PEER_REDIS_URL: stores.redisUrl,
      PEER_TOKEN_SECRET: randomBytes(32).toString('hex'),
    });
  } catch (err) {
    await stores.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    key: 'socketio',
    label: `Socket.IO 4 + redis-adapter + MariaDB (${PROCESSES} processes)`,
    role: 'peer',
    baseUrls: servers.map((server) => server.baseUrl),
    wire: socketIoWire,
    stores: true,
    serverPids: () => [...servers.map((server) => server.pid), ...stores.pids],
    stop() {
      stopping ??= (async () => {
        await Promise.all(servers.map((server) => server.stop()));
        await stores.stop();
      })();
      return stopping;
    },
  };
}

/** Both processes, started together; if either fails, the other is stopped and the error thrown. */
async function startServers(options: LaunchOptions, env: Record<string, string>): Promise<PeerProcess[]> {
  const ports: number[] = [];
  while (ports.length < PROCESSES) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  options.progress(`socketio peer: starting ${PROCESSES} Socket.IO processes`);
  const results = await Promise.allSettled(ports.map((port, i) => startPeerProcess({
    name: `socketio-${i + 1}`,
    script: scriptBeside(import.meta.url, 'server'),
    port,
    env: { ...env, PEER_PORT: String(port) },
    pinServer: options.pinServer,
    progress: options.progress,
  })));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(started.map((server) => server.stop()));
    throw failed.reason;
  }
  return started;
}
