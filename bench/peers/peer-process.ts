/**
 * A peer's server process: a Node child running one of the peers' entry scripts, pinned with
 * `taskset -c` when asked (taskset execs node, so the child's pid is the server's), ready once
 * GET /readyz answers 200 on its port.
 *
 * Its output is shown through the launcher's progress, prefixed with its name, up to a cap (a
 * peer writes only when something is wrong). It is killed should the benchmark exit without
 * stopping it, so an interrupted run leaves no server behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { stopProcess } from '../../bin/services/processes.js';
import { waitFor } from '../../bin/services/wait-for.js';
import { TroupeError } from '../../transport/errors.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const SHOWN_OUTPUT_LINES = 20;
const KEPT_OUTPUT_LINES = 5;

export interface PeerProcessOptions {
  /** Shown before its output lines and in errors, e.g. "socketio-1". */
  name: string;
  /** The entry script (see scriptBeside). */
  script: URL;
  port: number;
  env: Record<string, string>;
  /** `taskset -c` CPU list; absent: not pinned. */
  pinServer: string | undefined;
  progress(line: string): void;
}

export interface PeerProcess {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** SIGTERM, then SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>;
}

/** The entry script `name` next to the module `moduleUrl`, with that module's extension (.ts from a checkout, .js if compiled). */
export function scriptBeside(moduleUrl: string, name: string): URL {
  return new URL(`./${name}${moduleUrl.endsWith('.ts') ? '.ts' : '.js'}`, moduleUrl);
}

/** Starts the process and resolves once it is ready; a process that is not gets stopped and the start rejects. */
export async function startPeerProcess(options: PeerProcessOptions): Promise<PeerProcess> {
  const script = fileURLToPath(options.script);
  // Run through tsx from a checkout; a compiled build would hand a .js entry.
  const nodeArgs = script.endsWith('.ts') ? ['--import', 'tsx', script] : [script];
  const [command, args] = options.pinServer === undefined
    ? [process.execPath, nodeArgs]
    : ['taskset', ['-c', options.pinServer, process.execPath, ...nodeArgs]];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = showOutput(child, options);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stopping: Promise<void> | undefined;
  const peer: PeerProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    baseUrl: `http://127.0.0.1:${options.port}`,
    stop() {
      stopping ??= (async () => {
        // A child that never spawned (no pid) has nothing to stop and will never exit.
        if (child.pid !== undefined) await stopProcess(child, 'SIGTERM', STOP_GRACE_MS);
        process.removeListener('exit', killOnExit);
      })();
      return stopping;
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.on('error', (err) => reject(new TroupeError('unavailable', `${options.name}: cannot start ${command}: ${err.message}`)));
    });
    await waitReady(child, peer, output);
  } catch (err) {
    await peer.stop();
    throw err;
  }
  return peer;
}

async function waitReady(child: ChildProcess, peer: PeerProcess, output: readonly string[]): Promise<void> {
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        const said = output.length === 0 ? 'no output' : output.join(' | ');
        throw new TroupeError('unavailable', `${peer.name} exited (${child.exitCode ?? child.signalCode}) before it was ready: ${said}`);
      }
      try {
        const res = await fetch(`${peer.baseUrl}/readyz`);
        await res.arrayBuffer();
        return res.status === 200;
      } catch {
        return false; // not listening yet
      }
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, message: `${peer.name} ready on ${peer.baseUrl}` },
  );
}

/** Shows the child's output lines; returns the last few, kept for an error message. */
function showOutput(child: ChildProcess, options: PeerProcessOptions): string[] {
  const last: string[] = [];
  let lines = 0;
  const show = (line: string): void => {
    last.push(line);
    if (last.length > KEPT_OUTPUT_LINES) last.shift();
    lines += 1;
    if (lines <= SHOWN_OUTPUT_LINES) options.progress(`[${options.name}] ${line}`);
    else if (lines === SHOWN_OUTPUT_LINES + 1) options.progress(`[${options.name}] (further output not shown)`);
  };
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) createInterface({ input: stream }).on('line', show);
  }
  return last;
}
