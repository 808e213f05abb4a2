/**
 * The Socket.IO peer's real-time side, written the way a Node team would:
 *
 * - **Handshake**: the access token from POST /v1/sessions comes in the handshake's `auth`
 *   (`{token}`); a middleware verifies it and looks the user's conversations up, and the socket
 *   joins a room per conversation plus one for the user, in the same tick Socket.IO sends its
 *   CONNECT packet, so a connected client is already in every room.
 * - **`send`** `{id, conv, body}` with an acknowledgement: the message is stored in MariaDB
 *   (messages.ts) and only then acked `{id, seq, ts}` and emitted as `msg` `{conv, seq, id,
 *   from, body, ts}` to the conversation's room but the sending socket, on both processes: to
 *   this one's sockets directly, to the other's as a server-side event through the
 *   redis-adapter, each process putting the conversation's messages in seq order first
 *   (delivery-order.ts says why). A re-send is acked with the stored seq and emitted to nobody.
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
import type { Conversations, Membership } from './conversations.js';
import { DeliveryOrder } from './delivery-order.js';
import type { MessagePayload, SendAnswer, ServerEvents } from './events.js';
import type { Messages } from './messages.js';
import type { TokenSigner } from './tokens.js';

interface SocketData {
  userId: string;
  /** The user's conversations as the handshake read them; emptied once the socket joined them. */
  memberships: Membership[];
}

/** What the server hears: the client's events with their payloads unchecked. */
interface UncheckedClientEvents {
  send(frame: unknown, ack: unknown): void;
  sync(frame: unknown): void;
}

/** Between the peer's processes, over the redis-adapter. */
interface PeerServerEvents {
  /** Put the open sockets of `userIds` on this process in the conversation's room; `done` once they are. */
  join(conversationId: string, userIds: string[], lastSeq: number, done: () => void): void;
  /** A message stored by the other process, for this one's sockets but `senderSocket`. */
  deliver(message: MessagePayload, senderSocket: string): void;
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
function userRoom(userId: string): string {
  return `user:${userId}`;
}

export class PeerSockets {
  private readonly order: DeliveryOrder;

  constructor(
    private readonly io: PeerServer,
    private readonly deps: SocketEventDeps,
  ) {
    this.order = new DeliveryOrder(
      (message, senderSocket) => io.local.to(message.conv).except(senderSocket).emit('msg', message),
      (line) => deps.logError(line),
    );
    io.use((socket, next) => this.authenticate(socket, next));
    io.on('connection', (socket) => this.connected(socket));
    io.on('join', (conversationId, userIds, lastSeq, done) => {
      this.joinHere(conversationId, userIds, lastSeq);
      done();
    });
    io.on('deliver', (message, senderSocket) => this.order.arrived(message, senderSocket));
  }

  /**
   * Puts the open sockets of `userIds`, on both processes, in the conversation (whose newest seq
   * is `lastSeq`), and resolves once both have (so a member added while online gets the next
   * message). The redis-adapter's own `socketsJoin` would not wait for the other process.
   */
  async joinEverywhere(conversationId: string, userIds: readonly string[], lastSeq: number): Promise<void> {
    this.joinHere(conversationId, [...userIds], lastSeq);
    try {
      // Bounded by the adapter's request timeout (5 s by default).
      await this.io.serverSideEmitWithAck('join', conversationId, [...userIds], lastSeq);
    } catch (err) {
      throw new TroupeError('unavailable', 'the other Socket.IO process did not confirm the new members in time', { cause: err });
    }
  }

  private joinHere(conversationId: string, userIds: string[], lastSeq: number): void {
    this.order.joined(conversationId, lastSeq);
    this.io.local.in(userIds.map(userRoom)).socketsJoin(conversationId);
  }

  private authenticate(socket: PeerSocket, next: (err?: Error) => void): void {
    const userId = this.deps.tokens.verify((socket.handshake.auth as { token?: unknown }).token);
    if (userId === undefined) {
      next(new Error('unauthenticated: a valid access token is required in auth.token'));
      return;
    }
    this.deps.conversations.membershipsOf(userId).then(
      (memberships) => {
        socket.data = { userId, memberships };
        next();
      },
      (err: unknown) => {
        this.deps.logError(err);
        next(new Error('unavailable: the conversations could not be read'));
      },
    );
  }

  private connected(socket: PeerSocket): void {
    for (const { id, lastSeq } of socket.data.memberships) this.order.joined(id, lastSeq);
    void socket.join([userRoom(socket.data.userId), ...socket.data.memberships.map((m) => m.id)]);
    socket.data.memberships = [];
    let tail: Promise<void> = Promise.resolve();
    const inTurn = (work: () => Promise<void>): void => {
      tail = tail.then(work);
    };
    socket.on('send', (frame, ack) => {
      inTurn(() => this.onSend(socket, frame, typeof ack === 'function' ? (ack as Acknowledge) : undefined));
    });
    socket.on('sync', (frame) => {
      inTurn(() => this.onSync(socket, frame));
    });
  }

  private async onSend(socket: PeerSocket, frame: unknown, ack: Acknowledge | undefined): Promise<void> {
    try {
      const send = parseSend(frame);
      const from = socket.data.userId;
      const { seq, ts, stored } = await this.deps.messages.append(from, send);
      ack?.({ id: send.id, seq, ts });
      if (!stored) return;
      const message: MessagePayload = { conv: send.conv, seq, id: send.id, from, body: send.body, ts };
      this.order.arrived(message, socket.id);
      this.io.serverSideEmit('deliver', message, socket.id);
    } catch (err) {
      const error = clientError(err);
      if (error.code === 'internal') this.deps.logError(err);
      ack?.({ error });
    }
  }

  private async onSync(socket: PeerSocket, frame: unknown): Promise<void> {
    try {
      const sync = parseSync(frame);
      const page = await this.deps.messages.history(socket.data.userId, sync.conv, sync.after, sync.limit);
      socket.emit('history', { conv: sync.conv, messages: page.messages, more: page.more });
    } catch (err) {
      const error = clientError(err);
      if (error.code === 'internal') this.deps.logError(err);
      socket.emit('refused', error);
    }
  }
}
