/** Small process and port chores shared by the test services. */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** A port nobody listens on right now (the kernel picks it for a socket we close at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The last lines of a server log, on one line, for an error message. */
export function lastLines(log: string, count = 5): string {
  return log.trim().split('\n').slice(-count).join(' | ');
}

/**
 * Ends a child: SIGCONT first (a paused process does not act on SIGTERM), then `signal`, then
 * SIGKILL if it has not exited after `graceMs`.
 */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGCONT');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A service process the harness owns: killed, and its folder removed, if this process exits first. */
export interface OwnedProcess {
  child: ChildProcess;
  /** The exit hook; remove it (process.removeListener('exit', …)) once the child is stopped. */
  killOnExit: () => void;
}

/**
 * Owns `child` (SIGKILLed with its folder `dir` removed should this process exit) and waits for
 * `serving`; a child that never serves is stopped with `failSignal` and the error rethrown.
 */
export async function ownUntilServing(child: ChildProcess, dir: string, serving: () => Promise<void>, failSignal: NodeJS.Signals, graceMs?: number): Promise<OwnedProcess> {
  const killOnExit = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  try {
    await serving();
  } catch (err) {
    process.removeListener('exit', killOnExit);
    await stopProcess(child, failSignal, graceMs);
    throw err;
  }
  return { child, killOnExit };
}
