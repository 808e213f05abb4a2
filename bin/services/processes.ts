/** Small process and port chores shared by the test services. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/**
 * A port free to listen on now, below the kernel's ephemeral range
 * (`/proc/sys/net/ipv4/ip_local_port_range`). A port the kernel hands out for `listen(0)` comes
 * from that range, which outgoing connections draw from too: between choosing it and the server
 * that uses it binding it (for a local cluster's gateways, tens of seconds later, after every
 * other role connected to its services), a client connection could take it, and the server then
 * failed with EADDRINUSE. Below the range only listeners compete, and each candidate is checked
 * by binding it.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralLow();
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = LISTEN_PORTS_FROM + Math.floor(Math.random() * (below - LISTEN_PORTS_FROM));
    if (await canListen(candidate)) return candidate;
  }
  return kernelPort(); // a crowded range: fall back to the kernel's choice
}

/** The lowest port a listener is chosen from (above the well-known and most registered ports). */
const LISTEN_PORTS_FROM = 20_000;

/** The first port of the kernel's ephemeral range (32768 where it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LISTEN_PORTS_FROM + 1000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function kernelPort(): Promise<number> {
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
