/**
 * A TCP forwarder on a fixed local port, in front of a server that restarts on another port: a
 * browser page keeps its origin (scheme, host, port) while the server behind it is replaced, as
 * behind a load balancer. While no target is set, a new connection is closed at once, as a
 * server that is down would refuse it.
 *
 * (The embedded server cannot simply listen on its old port again: the connections it closed
 * on the way down hold that port in TIME_WAIT for about a minute.)
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpForwarder {
  /** The port to connect to. */
  port: number;
  /** Sends new connections to `targetPort` on 127.0.0.1, or refuses them (null). */
  retarget(targetPort: number | null): void;
  /** Stops listening and closes every connection. */
  stop(): Promise<void>;
}

export async function startTcpForwarder(targetPort: number | null): Promise<TcpForwarder> {
  let target = targetPort;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (target === null) return void client.destroy();
    const upstream = connect({ host: '127.0.0.1', port: target });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('forwarder: no port');
  return {
    port: address.port,
    retarget(port) {
      target = port;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
