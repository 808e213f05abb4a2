/**
 * The machine's wakeup floor, measured in the run it is printed beside. On a small virtual machine
 * a process woken from sleep costs far more CPU than the work it was woken for (the scheduler,
 * the hypervisor, the event loop's return from epoll), and a cluster pays it for every hop of a
 * message: a gateway, logic and repo node, the Kafka mock and MariaDB each woken a few times per
 * message. Two Node processes (bench/lib/wakeup-peer.ts) play TCP ping-pong over loopback, one
 * byte at a time: first with a gap between round trips (so both sleep, as an unhurried cluster
 * does), then back to back. Their CPU together per round trip is the floor: "requests per message
 * × the gapped floor" is what a message costs on this machine before Troupe does any work.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WakeupFloor } from '../report/types.js';
import { IpcChild } from './ipc-child.js';
import { pinProcess } from './pinning.js';

export type WakeupToPeer = { type: 'cpu' } | { type: 'run'; gapMs: number; durationMs: number };
export type WakeupFromPeer =
  | { type: 'listening'; port: number }
  | { type: 'connected' }
  | { type: 'cpu'; cpuUs: number }
  | { type: 'ran'; roundTrips: number; cpuUs: number };

const HERE = dirname(fileURLToPath(import.meta.url));
const FROM_SOURCES = import.meta.url.endsWith('.ts');

export interface WakeupFloorOptions {
  /** Between round trips; default 5 ms. */
  gapMs?: number;
  /** Of the gapped phase; default 2000 ms. */
  gappedMs?: number;
  /** Of the back-to-back phase; default 1000 ms. */
  backToBackMs?: number;
  /** taskset CPU list for both processes (the server's, so the floor is that of its cores). */
  pinCpus?: string;
}

export const WAKEUP_GAP_MS = 5;
const GAPPED_MS = 2000;
const BACK_TO_BACK_MS = 1000;
/** Unmeasured back-to-back time first, so both sides run compiled code when measured. */
const WARM_UP_MS = 200;
/** Longest wait for a peer to answer beyond its phase. */
const ANSWER_TIMEOUT_MS = 10_000;

type Peer = IpcChild<WakeupFromPeer, WakeupToPeer>;

function startPeer(args: string[]): Peer {
  return IpcChild.start<WakeupFromPeer, WakeupToPeer>(join(HERE, 'wakeup-peer.js'), FROM_SOURCES, args, { name: 'the wakeup-floor peer', timeoutMs: ANSWER_TIMEOUT_MS });
}

/** CPU of both peers per round trip of one phase, microseconds. */
async function phase(echo: Peer, ping: Peer, gapMs: number, durationMs: number): Promise<{ roundTrips: number; usPerRoundTrip: number }> {
  const before = await echo.next('cpu', { type: 'cpu' });
  const ran = await ping.next('ran', { type: 'run', gapMs, durationMs }, durationMs + ANSWER_TIMEOUT_MS);
  const after = await echo.next('cpu', { type: 'cpu' });
  const cpuUs = ran.cpuUs + (after.cpuUs - before.cpuUs);
  return { roundTrips: ran.roundTrips, usPerRoundTrip: ran.roundTrips === 0 ? NaN : cpuUs / ran.roundTrips };
}

/** Runs the ping-pong (about gappedMs + backToBackMs + a second of start-up) and returns the floor. */
export async function measureWakeupFloor(options: WakeupFloorOptions = {}): Promise<WakeupFloor> {
  const gapMs = options.gapMs ?? WAKEUP_GAP_MS;
  const echo = startPeer(['echo']);
  let ping: Peer | undefined;
  try {
    const { port } = await echo.next('listening');
    ping = startPeer(['ping', String(port)]);
    await ping.next('connected');
    if (options.pinCpus !== undefined) for (const peer of [echo, ping]) await pinProcess(peer.child.pid!, options.pinCpus);
    await phase(echo, ping, 0, WARM_UP_MS);
    const gapped = await phase(echo, ping, gapMs, options.gappedMs ?? GAPPED_MS);
    const backToBack = await phase(echo, ping, 0, options.backToBackMs ?? BACK_TO_BACK_MS);
    return {
      gapMs,
      gappedRoundTrips: gapped.roundTrips,
      gappedUsPerRoundTrip: gapped.usPerRoundTrip,
      backToBackRoundTrips: backToBack.roundTrips,
      backToBackUsPerRoundTrip: backToBack.usPerRoundTrip,
    };
  } finally {
    await Promise.all([echo.stop(), ping?.stop()]);
  }
}
