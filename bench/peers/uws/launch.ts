/**
 * Starts the raw uWebSockets.js bound (server.ts) as one child process on a free loopback port,
 * pinned when asked. It speaks the Troupe wire and stores nothing.
 */
import { freePort } from '../../../bin/services/processes.js';
import type { LaunchOptions, RunningTarget } from '../../lib/running-target.js';
import { troupeWire } from '../../lib/troupe-wire.js';
import { scriptBeside, startPeerProcess } from '../peer-process.js';

export async function launchUwsBound(options: LaunchOptions): Promise<RunningTarget> {
  options.progress('starting the raw uWebSockets.js bound');
  const port = await freePort();
  const server = await startPeerProcess({
    name: 'uws',
    script: scriptBeside(import.meta.url, 'server'),
    port,
    env: { PEER_PORT: String(port) },
    pinServer: options.pinServer,
    progress: options.progress,
  });
  return {
    key: 'uws',
    label: 'raw uWebSockets.js, in-memory ack and pub/sub, no storage (1 process)',
    role: 'bound',
    baseUrls: [server.baseUrl],
    wire: troupeWire,
    stores: false,
    serverPids: () => [server.pid],
    stop: () => server.stop(),
  };
}
