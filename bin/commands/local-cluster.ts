/**
 * `troupe local-cluster`: starts a whole cluster on this machine (see
 * bin/local-cluster/launcher.ts), prints one line per process and `cluster ready`, and stops
 * everything (removing its folders) on SIGINT or SIGTERM. A role process that ends on its own is
 * reported (`<role> <nodeId> pid <pid> ended (…); restarting`) and started again, or with
 * `--no-restart` reported (`…; not restarted (--no-restart)`) and left dead, so a fault drill can
 * show the survivors took over.
 */
import type { TroupeConfig } from '../../config/types.js';
import { startLocalCluster } from '../local-cluster/launcher.js';

export interface LocalClusterCounts {
  gateways: number;
  logic: number;
  repo: number;
  task: number;
  basePort?: number;
  /** Given to every role as its --config. */
  configFile?: string;
  /** Start a role process that ended again (the default); false: leave it dead (--no-restart). */
  restart?: boolean;
}

/** The launcher's options from the parsed command line (bin/cli/args.ts: counts, --base-port, --no-restart, --config). */
export function localClusterOptions(options: Record<string, number>, flags: Record<string, string | true> | undefined, configFile: string | undefined): LocalClusterCounts {
  const { gateways = 2, logic = 2, repo = 2, task = 1, basePort } = options;
  return {
    gateways, logic, repo, task,
    restart: flags?.noRestart !== true,
    ...(basePort === undefined ? {} : { basePort }),
    ...(configFile === undefined ? {} : { configFile }),
  };
}

export async function runLocalCluster(config: TroupeConfig, counts: LocalClusterCounts): Promise<void> {
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  let stopping = false;
  const early = (): void => {
    // A signal during start-up: the launcher cleans up when it fails; exit once it has.
    stopping = true;
  };
  process.on('SIGINT', early);
  process.on('SIGTERM', early);
  const cluster = await startLocalCluster({
    ...counts,
    callerEnv: troupeVariables(process.env),
    cluster: config.node.cluster,
    upstreamPartitions: config.log.upstreamPartitions,
    onLine: out,
  });
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    out('stopping');
    cluster.stop().then(
      () => {
        out('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`troupe local-cluster: stopping failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  if (stopping) return stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** The environment's TROUPE_ variables, which `--help` promises reach the roles (PORT does not: each gateway has its own). */
export function troupeVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (name.startsWith('TROUPE_') && value !== undefined) out[name] = value;
  return out;
}
