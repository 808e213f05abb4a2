/**
 * One role of the local cluster as a child process: `troupe <role>` run by the same Node.js and
 * the same entry script as the launcher (so it works from the build and from the sources), its
 * configuration in TROUPE_ variables, its JSON log lines in a file of the cluster's folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { lastLines, stopProcess } from '../services/processes.js';
import { waitFor } from '../services/wait-for.js';

export type LocalRole = 'gateway' | 'logic' | 'repo' | 'task';

export interface RoleProcessSpec {
  role: LocalRole;
  nodeId: string;
  /** The troupe script to run with this Node.js and its flags (e.g. tsx's import). */
  entry: string;
  /** Flags after `troupe <role>`. */
  args: string[];
  env: Record<string, string>;
  /** Port whose /readyz says the process serves (the gateway's port or the ops port). */
  readyPort: number;
  logDir: string;
}

export class RoleProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  private exitStatus: string | null = null;

  constructor(readonly spec: RoleProcessSpec) {
    this.logFile = join(spec.logDir, `${spec.role}-${spec.nodeId}.log`);
    // Appended: a restarted role keeps what its previous run wrote.
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [...process.execArgv, spec.entry, spec.role, ...spec.args], {
      env: { ...withoutTroupeVariables(process.env), ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A log that cannot be written (its folder removed under us) must not take the launcher,
    // and so the whole cluster, down: say so once and drop the role's output from then on.
    let lost = false;
    log.on('error', (err) => {
      if (lost) return;
      lost = true;
      process.stderr.write(`troupe local-cluster: cannot write ${this.logFile} (${err.message}); ${spec.role} ${spec.nodeId}'s log is lost\n`);
      this.child.stdout?.unpipe(log);
      this.child.stderr?.unpipe(log);
      this.child.stdout?.resume();
      this.child.stderr?.resume();
    });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    this.child.once('exit', (code, signal) => {
      this.exitStatus = signal === null ? `exit ${code}` : `signal ${signal}`;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Why it ended, or null while it runs. */
  get exited(): string | null {
    return this.exitStatus;
  }

  /** Resolves once /readyz answers 200; rejects if the process exits first or after `timeoutMs`. */
  async whenReady(timeoutMs: number): Promise<void> {
    const url = `http://127.0.0.1:${this.spec.readyPort}/readyz`;
    await waitFor(
      async () => {
        if (this.exitStatus !== null) {
          // The folder goes away with the cluster: say why here.
          const log = await readFile(this.logFile, 'utf8').catch(() => '');
          throw new Error(`${this.spec.role} ${this.spec.nodeId} ended (${this.exitStatus}) before it was ready: ${lastLines(log, 3)}`);
        }
        try {
          return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
        } catch {
          return false;
        }
      },
      { timeoutMs, intervalMs: 100, message: `${this.spec.role} ${this.spec.nodeId} ready (see ${this.logFile})` },
    );
  }

  /** SIGTERM (the role drains), SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (this.exitStatus !== null) return;
    const exited = once(this.child, 'exit');
    await stopProcess(this.child, 'SIGTERM', graceMs);
    await exited.catch(() => undefined);
  }
}

/** The launcher's own TROUPE_ settings must not leak into the roles: each gets exactly its own. */
function withoutTroupeVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!name.startsWith('TROUPE_') && name !== 'PORT') out[name] = value;
  return out;
}
