/**
 * The raw uWebSockets.js bound: what one process can do with no storage at all, the ceiling the
 * benchmark holds Troupe against. It answers the setup subset from memory and speaks the Troupe
 * frames subset on /v1/ws?token=… (docs/protocol.md):
 *
 * - on open, `ready` with the user and their conversations;
 * - `send` → `ack` {id, conv, seq, ts} from the conversation's in-memory counter, and `msg`
 *   published on the conversation's topic, which uWS hands to every subscriber but the sender's
 *   socket (the other members, and the sender's other connections, as in Troupe);
 * - `ping` → `pong`; anything else an `error` frame. `sync` is refused: nothing is stored, and
 *   client ids are not remembered, so a re-send gets a new seq (the bound has no de-duplication).
 *
 * Socket settings are Troupe's gateway defaults (config/default.yaml): 1 MiB payload and
 * backpressure limits, 120 s idle timeout, no compression.
 *
 * Usage: node --import tsx bench/peers/uws/server.ts, with PEER_PORT set. SIGTERM exits 0.
 */
import uWS, { type WebSocket } from 'uWebSockets.js';
import { assertNativeUws } from '../../../transport/http/uws.js';
import { TroupeError } from '../../../transport/errors.js';
import { parseSend, refOf } from '../client-frames.js';
import { clientError, errorAnswer } from '../error-status.js';
import { BoundState } from './bound-state.js';
import { serveSetupRoutes, writeAnswer } from './setup-http.js';

const MIB = 1024 * 1024;

interface SocketData {
  userId: string;
}

type BoundSocket = WebSocket<SocketData>;

/** Open sockets per user: one socket kept bare (the common case), several in an array. */
const socketsByUser = new Map<string, BoundSocket | BoundSocket[]>();

function addSocket(userId: string, ws: BoundSocket): void {
  const held = socketsByUser.get(userId);
  if (held === undefined) socketsByUser.set(userId, ws);
  else if (Array.isArray(held)) held.push(ws);
  else socketsByUser.set(userId, [held, ws]);
}

function removeSocket(userId: string, ws: BoundSocket): void {
  const held = socketsByUser.get(userId);
  if (held === ws) socketsByUser.delete(userId);
  else if (Array.isArray(held)) {
    const rest = held.filter((s) => s !== ws);
    if (rest.length === 1) socketsByUser.set(userId, rest[0]!);
    else socketsByUser.set(userId, rest);
  }
}

/** New members' open sockets subscribe to the conversation, so they get its messages at once. */
function subscribeMembers(conversationId: string, userIds: readonly string[]): void {
  for (const userId of userIds) {
    const held = socketsByUser.get(userId);
    if (held === undefined) continue;
    for (const ws of Array.isArray(held) ? held : [held]) ws.subscribe(conversationId);
  }
}

const state = new BoundState(subscribeMembers);

function errorFrame(ref: string | undefined, err: unknown): string {
  return JSON.stringify({ type: 'error', ref, ...clientError(err) });
}

function onMessage(ws: BoundSocket, data: ArrayBuffer, isBinary: boolean): void {
  let frame: unknown;
  try {
    if (isBinary) throw new TroupeError('bad_request', 'binary frames are not accepted');
    try {
      frame = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch {
      throw new TroupeError('bad_request', 'frame: not JSON');
    }
    const type = (frame as { type?: unknown } | null)?.type;
    if (type === 'send') {
      const send = parseSend(frame);
      const conversation = state.memberConversation(ws.getUserData().userId, send.conv);
      const seq = ++conversation.lastSeq;
      const ts = Date.now();
      const from = ws.getUserData().userId;
      ws.cork(() => {
        ws.send(`{"type":"ack","id":${JSON.stringify(send.id)},"conv":"${conversation.id}","seq":${seq},"ts":${ts}}`);
        ws.publish(conversation.id, JSON.stringify({ type: 'msg', conv: conversation.id, seq, id: send.id, from, body: send.body, ts }));
      });
    } else if (type === 'ping') {
      ws.send('{"type":"pong"}');
    } else if (type === 'sync') {
      throw new TroupeError('bad_request', 'sync: the uWS bound stores no messages');
    } else {
      throw new TroupeError('bad_request', 'type: unknown or missing');
    }
  } catch (err) {
    ws.send(errorFrame(refOf(frame), err));
  }
}

function main(): void {
  const port = Number(process.env.PEER_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write('uws bound: PEER_PORT must be a port number\n');
    process.exit(2);
  }
  assertNativeUws();
  const app = uWS.App();
  app.ws<SocketData>('/v1/ws', {
    maxPayloadLength: MIB,
    maxBackpressure: MIB,
    idleTimeout: 120,
    compression: uWS.DISABLED,
    upgrade(res, req, context) {
      const token = new URLSearchParams(req.getQuery() ?? '').get('token');
      const userId = token === null ? undefined : state.verifyToken(token);
      if (userId === undefined) {
        const { status, body } = errorAnswer(new TroupeError('unauthenticated', 'a valid access token is required'));
        writeAnswer(res, { status, contentType: 'application/json', body });
        return;
      }
      res.upgrade<SocketData>(
        { userId },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      const { userId } = ws.getUserData();
      addSocket(userId, ws);
      const conversations = state.conversationsOf(userId);
      for (const conversation of conversations) ws.subscribe(conversation.id);
      ws.send(JSON.stringify({
        type: 'ready',
        user: state.user(userId),
        conversations: conversations.map((c) => ({ id: c.id, lastSeq: c.lastSeq, readSeq: 0 })),
      }));
    },
    message: onMessage,
    close(ws) {
      removeSocket(ws.getUserData().userId, ws);
    },
  });
  serveSetupRoutes(app, state);
  app.listen('127.0.0.1', port, (listenSocket) => {
    if (listenSocket === false) {
      process.stderr.write(`uws bound: cannot listen on 127.0.0.1:${port}\n`);
      process.exit(1);
    }
  });
  // A default SIGTERM would also end the process, but with status 143; exit cleanly instead.
  process.on('SIGTERM', () => process.exit(0));
}

main();
