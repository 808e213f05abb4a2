/**
 * `troupe local-cluster` as the cluster specs use it: the real command in a child process, its
 * stdout lines parsed into processes and gateway URLs, stopped with SIGTERM (and checked to exit
 * 0) afterwards. A configuration file given with --config reaches every role. With `restart:
 * false` the launcher runs with --no-restart: a role that ends stays dead (fault specs that must
 * show the survivors took over).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';

export interface RunningCluster {
  /** Lines printed up to `cluster ready`. */
  lines: string[];
  /** Lines printed after it (a role that ended and was restarted, `stopping`, …). */
  later: string[];
  gatewayUrls: string[];
  /** role → pid, by node id. */
  pids: Map<string, number>;
  /** The etcd endpoint the launcher printed. */
  etcd: string;
  /** Sends SIGTERM and resolves with the exit code once the launcher has stopped everything. */
  stop(): Promise<number | null>;
  child: ChildProcess;
}

export async function launchLocalCluster(
  counts: { gateways: number; logic: number; repo: number; task: number; restart?: boolean },
  config: Record<string, unknown>,
  timeoutMs = 180_000,
): Promise<RunningCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-cluster-spec-'));
  const configFile = join(dir, 'troupe.yaml');
  await writeFile(configFile, stringify(config));
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'bin/troupe.ts', 'local-cluster',
      '--gateways', String(counts.gateways), '--logic', String(counts.logic), '--repo', String(counts.repo), '--task', String(counts.task),
      '--config', configFile,
      ...(counts.restart === false ? ['--no-restart'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: withoutTroupe(process.env) },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines: string[] = [];
  const later: string[] = [];
  let isReady = false;
  const reader = createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local-cluster not ready after ${timeoutMs} ms: ${lines.join(' | ')} ${stderr}`)), timeoutMs);
    reader.on('line', (line) => {
      if (isReady) {
        later.push(line);
        return;
      }
      lines.push(line);
      if (line === 'cluster ready') {
        isReady = true;
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`local-cluster exited ${code} before ready: ${[...lines.slice(-3), stderr.trim()].join(" | ")}`));
    });
  });
  const stop = async (): Promise<number | null> => {
    // A role that ended while the specs ran was restarted by the launcher (or left dead with
    // --no-restart); say which, for the log.
    for (const line of later) if (/ ended \(/.test(line)) process.stderr.write(`local-cluster: ${line}\n`);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const [code] = await exited;
    await rm(dir, { recursive: true, force: true });
    return code;
  };
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  const gatewayUrls: string[] = [];
  const pids = new Map<string, number>();
  for (const line of lines) {
    const m = /^(gateway|logic|repo|task) (\S+) pid (\d+)(?: (http:\/\/127\.0\.0\.1:\d+))?$/.exec(line);
    if (m === null) continue;
    pids.set(m[2]!, Number(m[3]));
    if (m[4] !== undefined) gatewayUrls.push(m[4]);
  }
  const etcd = lines.find((l) => l.startsWith('etcd '))?.slice(5) ?? '';
  return { lines, later, gatewayUrls, pids, etcd, stop, child };
}

function withoutTroupe(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('TROUPE_')));
}
