/**
 * A private etcd for the specs: Debian's etcd-server, a one-member cluster started in a fresh
 * temporary folder on free ports of 127.0.0.1 (client and peer), so that tests never touch a
 * system service or /etc.
 *
 * `down()` kills the server the way a crash would (SIGKILL; etcd's write-ahead log keeps every
 * committed change) and `up()` starts it again on the same data folder and ports: a spec plays
 * an etcd restart that clients must ride out. `stop()` kills the server and removes the folder;
 * the server is also killed if the test process exits without calling it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for.js';
import { ensurePrograms } from './debian-packages.js';
import { freePort, lastLines, ownUntilServing, stopProcess, type OwnedProcess } from './processes.js';

const PACKAGE = 'etcd-server';

export interface EtcdService {
  /** `http://127.0.0.1:<port>`: the client URL. */
  endpoint: string;
  /** Kills the server (as a crash would), keeping its data folder and ports. */
  down(): Promise<void>;
  /** Starts the server again after `down()`, on the same data folder and ports, and waits until it serves. */
  up(): Promise<void>;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

interface Ports {
  client: number;
  peer: number;
}

/** Starts a new server; rejects (after cleaning up) when it cannot be installed or started. */
export async function startEtcd(): Promise<EtcdService> {
  const [bin] = (await ensurePrograms(['etcd'], [PACKAGE], 'etcd')) as [string];
  const dir = await mkdtemp(join(tmpdir(), 'troupe-etcd-'));
  try {
    for (let attempt = 1; ; attempt++) {
      const ports = { client: await freePort(), peer: await freePort() };
      try {
        const child = await launch(bin, dir, ports);
        return serviceOf(bin, dir, ports, child);
      } catch (err) {
        // Another process may have taken a port we picked between our probe and the server's bind.
        if (attempt < 3 && (await serverLog(dir)).includes('address already in use')) {
          await rm(join(dir, 'etcd'), { recursive: true, force: true });
          await rm(join(dir, 'etcd.log'), { force: true });
          continue;
        }
        throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

type Running = OwnedProcess;

function serviceOf(bin: string, dir: string, ports: Ports, first: Running): EtcdService {
  let current: Running | undefined = first;
  let stopped: Promise<void> | undefined;
  const kill = async (): Promise<void> => {
    if (current === undefined) return;
    const { child, killOnExit } = current;
    current = undefined;
    process.removeListener('exit', killOnExit);
    await stopProcess(child, 'SIGKILL'); // etcd needs no shutdown to keep its data; a crash is what the specs play
  };
  return {
    endpoint: `http://127.0.0.1:${ports.client}`,
    down: kill,
    async up(): Promise<void> {
      if (current !== undefined) return;
      current = await launch(bin, dir, ports);
    },
    stop(): Promise<void> {
      stopped ??= (async () => {
        await kill();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** Starts etcd on `dir`/etcd and waits until it reports itself healthy; kills it if it does not. */
async function launch(bin: string, dir: string, ports: Ports): Promise<Running> {
  const clientUrl = `http://127.0.0.1:${ports.client}`;
  const peerUrl = `http://127.0.0.1:${ports.peer}`;
  const child = spawn(
    bin,
    [
      '--name', 'default',
      '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
      '--logger', 'zap',
      '--log-outputs', join(dir, 'etcd.log'),
    ],
    { stdio: 'ignore' },
  );
  // etcd needs no shutdown to keep its data; a crash is what the specs play.
  return ownUntilServing(child, dir, () => waitUntilHealthy(child, clientUrl, dir), 'SIGKILL');
}

/** Polls `/health` until etcd has a leader and answers; fails at once if the server exits. */
async function waitUntilHealthy(child: ChildProcess, clientUrl: string, dir: string): Promise<void> {
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) before serving: ${lastLines(await serverLog(dir))}`);
      }
      return healthy(clientUrl);
    },
    { timeoutMs: 30_000, intervalMs: 20, message: `etcd on ${clientUrl}` },
  );
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: unknown };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

async function serverLog(dir: string): Promise<string> {
  return readFile(join(dir, 'etcd.log'), 'utf8').catch(() => '');
}

