/**
 * One side of the wakeup-floor ping-pong (bench/lib/wakeup-floor.ts), a child process of `troupe
 * bench`: `echo` listens on loopback and sends every byte back; `ping <port>` connects to it and,
 * when told over IPC, sends one byte, waits for it to come back, waits the gap (or not), and so on
 * for the given time. Each side reports its own CPU (process.cpuUsage: every thread, microseconds)
 * so the parent can divide both by the round trips.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { WakeupFromPeer, WakeupToPeer } from './wakeup-floor.js';

function send(message: WakeupFromPeer): void {
  process.send?.(message);
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function echo(): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    send({ type: 'listening', port: typeof address === 'object' && address !== null ? address.port : 0 });
  });
  process.on('message', (message: WakeupToPeer) => {
    if (message.type === 'cpu') send({ type: 'cpu', cpuUs: cpuMicros() });
  });
}

function ping(port: number): void {
  const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => send({ type: 'connected' }));
  socket.on('error', (err) => {
    process.stderr.write(`wakeup ping: ${err.message}\n`);
    process.exit(1);
  });
  let onByte: (() => void) | undefined;
  socket.on('data', (chunk) => {
    // One byte is in flight at a time, so every chunk is one round trip's answer.
    for (let i = 0; i < chunk.length; i++) onByte?.();
  });
  process.on('message', (message: WakeupToPeer) => {
    if (message.type !== 'run') return;
    const { gapMs, durationMs } = message;
    const cpuStart = cpuMicros();
    const until = performance.now() + durationMs;
    let roundTrips = 0;
    const fire = (): boolean => socket.write('p');
    onByte = () => {
      roundTrips += 1;
      if (performance.now() >= until) {
        onByte = undefined;
        send({ type: 'ran', roundTrips, cpuUs: cpuMicros() - cpuStart });
      } else if (gapMs > 0) {
        setTimeout(fire, gapMs);
      } else {
        fire();
      }
    };
    fire();
  });
}

const [role, port] = process.argv.slice(2);
if (role === 'echo') echo();
else if (role === 'ping') ping(Number(port));
else throw new Error(`wakeup peer: unknown role ${String(role)}`);
process.on('disconnect', () => process.exit(0));
