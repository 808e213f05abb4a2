/**
 * One process of the Socket.IO peer: node:http with the setup routes, Socket.IO 4 on the same
 * port (WebSocket transport only: the benchmark's clients never poll), and the redis-adapter so
 * that a room spans both processes. Its MariaDB schema is created by the launcher beforehand.
 *
 * Usage: node --import tsx bench/peers/socketio/server.ts, with PEER_PORT, PEER_MYSQL_URL,
 * PEER_REDIS_URL and PEER_TOKEN_SECRET (hex; the same in both processes, so a token from either
 * is good on both). Listens once MariaDB and Redis answer, so GET /readyz means ready. SIGTERM
 * exits 0.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { SocketIoBackend } from './backend.js';
import { openPool } from './db.js';
import { Messages } from './messages.js';
import { PeerSockets, type PeerServer } from './socket-events.js';
import { setupRequestListener } from './setup-http.js';
import { TokenSigner } from './tokens.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    process.stderr.write(`socketio peer: ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

function logError(err: unknown): void {
  process.stderr.write(`socketio peer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
}

async function main(): Promise<void> {
  const port = Number(required('PEER_PORT'));
  const pool = openPool(required('PEER_MYSQL_URL'));
  const redisUrl = required('PEER_REDIS_URL');
  const tokens = new TokenSigner(Buffer.from(required('PEER_TOKEN_SECRET'), 'hex'));
  await pool.query('SELECT 1');
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  await Promise.all([pub.ping(), sub.ping()]);

  // Called only for requests, so after `sockets` below exists: the open sockets of users who
  // joined a conversation, on either process, join its room.
  const backend: SocketIoBackend = new SocketIoBackend(pool, tokens, (conversationId, userIds, lastSeq): Promise<void> => sockets.joinEverywhere(conversationId, userIds, lastSeq));
  const http = createServer(setupRequestListener(backend));
  const io: PeerServer = new Server(http, { transports: ['websocket'], serveClient: false, adapter: createAdapter(pub, sub) });
  const sockets: PeerSockets = new PeerSockets(io, { tokens, conversations: backend.conversations, messages: new Messages(pool), logError });

  http.on('error', (err) => {
    logError(err);
    process.exit(1);
  });
  http.listen(port, '127.0.0.1');
  // A default SIGTERM would also end the process, but with status 143; exit cleanly instead.
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((err: unknown) => {
  logError(err);
  process.exit(1);
});
