/**
 * The Socket.IO peer's real-time side, written the way a Node team would:
 *
 * - **Handshake**: the access token from POST /v1/sessions comes in the handshake's `auth`
 *   (`{token}`); a middleware verifies it and looks the user's conversations up, and the socket
 *   joins a room per conversation plus one for the user, in the same tick Socket.IO sends its
 *   CONNECT packet, so a connected client is already in every room.
 * - **`send`** `{id, conv, body}` with an acknowledgement: the message is stored in MariaDB
 *   (messages.ts) and only then acked `{id, seq, ts}` and emitted as `msg` `{conv, seq, id,
 *   from, body, ts}` to the conversation's room but the sending socket, which the redis-adapter
 *   carries to the other process. A re-send is acked with the stored seq and emitted to nobody.
 *   A refused send is acked `{error: {code, message}}`.
 * - **`sync`** `{conv, after, limit}`: answered with a `history` event `{conv, messages, more}`,
 *   or a `refused` event `{code, message}`.
 *
 * One socket's frames are handled one after another (a promise chain per socket): without it two
 * sends from one connection would race for the conversation's row lock and could take their
 * seqs out of order, which docs/protocol.md forbids. Different sockets run concurrently.
 */
import type { Server, Socket } from 'socket.io';
import { TroupeError } from '../../../transport/errors.js';
import { parseSend, parseSync } from '../client-frames.js';
import { clientError } from '../error-status.js';
import type { Conversations } from './conversations.js';
import type { SendAnswer, ServerEvents } from './events.js';
import type { Messages } from './messages.js';
import type { TokenSigner } from './tokens.js';

interface SocketData {
  userId: string;
  conversationIds: string[];
}

/** What the server hears: the client's events with their payloads unchecked. */
interface UncheckedClientEvents {
  send(frame: unknown, ack: unknown): void;
  sync(frame: unknown): void;
}

/** Between the peer's processes, over the redis-adapter. */
export interface PeerServerEvents {
  /** Put the open sockets of `userIds` on this process in the conversation's room; `done` once they are. */
  join(conversationId: string, userIds: string[], done: () => void): void;
}

export type PeerServer = Server<UncheckedClientEvents, ServerEvents, PeerServerEvents, SocketData>;
type PeerSocket = Socket<UncheckedClientEvents, ServerEvents, PeerServerEvents, SocketData>;
type Acknowledge = (answer: SendAnswer) => void;

export interface SocketEventDeps {
  tokens: TokenSigner;
  conversations: Conversations;
  messages: Messages;
  /** Where unexpected failures are reported (the client only hears `internal`). */
  logError(err: unknown): void;
}

/** The room of every socket of one user: lets a new conversation reach its online members. */
export function userRoom(userId: string): string {
  return `user:${userId}`;
}

/**
 * Puts the open sockets of `userIds`, on every process, in the conversation's room, and resolves
 * once all have (so a member added while online gets the next message). The redis-adapter's own
 * `socketsJoin` does not wait for the other process; a server-side event with acknowledgement does.
 */
export async function joinEverywhere(io: PeerServer, conversationId: string, userIds: readonly string[]): Promise<void> {
  io.local.in(userIds.map(userRoom)).socketsJoin(conversationId);
  try {
    // Bounded by the adapter's request timeout (5 s by default).
    await io.serverSideEmitWithAck('join', conversationId, [...userIds]);
  } catch (err) {
    throw new TroupeError('unavailable', 'the other Socket.IO process did not confirm the new members in time', { cause: err });
  }
}

export function handleSockets(io: PeerServer, deps: SocketEventDeps): void {
  io.on('join', (conversationId, userIds, done) => {
    io.local.in(userIds.map(userRoom)).socketsJoin(conversationId);
    done();
  });
  io.use((socket, next) => {
    const userId = deps.tokens.verify((socket.handshake.auth as { token?: unknown }).token);
    if (userId === undefined) {
      next(new Error('unauthenticated: a valid access token is required in auth.token'));
      return;
    }
    deps.conversations.idsOf(userId).then(
      (conversationIds) => {
        socket.data = { userId, conversationIds };
        next();
      },
      (err: unknown) => {
        deps.logError(err);
        next(new Error('unavailable: the conversations could not be read'));
      },
    );
  });
  io.on('connection', (socket) => {
    void socket.join([userRoom(socket.data.userId), ...socket.data.conversationIds]);
    socket.data.conversationIds = []; // not needed once joined
    let tail: Promise<void> = Promise.resolve();
    const inTurn = (work: () => Promise<void>): void => {
      tail = tail.then(work);
    };
    socket.on('send', (frame: unknown, ack: unknown) => {
      inTurn(() => onSend(socket, deps, frame, typeof ack === 'function' ? (ack as Acknowledge) : undefined));
    });
    socket.on('sync', (frame: unknown) => {
      inTurn(() => onSync(socket, deps, frame));
    });
  });
}

async function onSend(socket: PeerSocket, deps: SocketEventDeps, frame: unknown, ack: Acknowledge | undefined): Promise<void> {
  try {
    const send = parseSend(frame);
    const from = socket.data.userId;
    const { seq, ts, stored } = await deps.messages.append(from, send);
    ack?.({ id: send.id, seq, ts });
    if (stored) socket.to(send.conv).emit('msg', { conv: send.conv, seq, id: send.id, from, body: send.body, ts });
  } catch (err) {
    const error = clientError(err);
    if (error.code === 'internal') deps.logError(err);
    ack?.({ error });
  }
}

async function onSync(socket: PeerSocket, deps: SocketEventDeps, frame: unknown): Promise<void> {
  try {
    const sync = parseSync(frame);
    const page = await deps.messages.history(socket.data.userId, sync.conv, sync.after, sync.limit);
    socket.emit('history', { conv: sync.conv, messages: page.messages, more: page.more });
  } catch (err) {
    const error = clientError(err);
    if (error.code === 'internal') deps.logError(err);
    socket.emit('refused', error);
  }
}
