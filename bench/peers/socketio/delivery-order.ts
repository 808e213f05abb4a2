/**
 * Hands each process's sockets a conversation's messages in seq order, as docs/protocol.md
 * promises and the benchmark checks.
 *
 * Why it is needed: each process stores a message and then emits it. In a group whose senders
 * sit on both processes, seq 5 (stored by process A) and seq 6 (stored by B right after, once A
 * released the row lock) race: B hands 6 to its own sockets at once while 5 is still on its way
 * from A through Redis. The plain `socket.to(room).emit` of the redis-adapter delivers them in
 * that order; here every message, local or from the other process, passes through this orderer,
 * which holds a message back until its predecessor went out.
 *
 * Where each conversation starts: at the last seq read when the first socket of this process
 * joined it (later messages are pushes, earlier ones history), or at the first message seen.
 * A predecessor that never comes (its process died between commit and emit) holds the rest back
 * for at most HOLD_MS; then the held messages go out anyway, in order.
 */
import type { MessagePayload } from './events.js';

/** How long a message waits for a predecessor that does not come. */
export const HOLD_MS = 1000;

interface Conversation {
  /** The seq to hand out next. */
  next: number;
  /** Messages that came before their predecessor, by seq. */
  held: Map<number, Held>;
  timer: NodeJS.Timeout | undefined;
}

interface Held {
  message: MessagePayload;
  /** The sender's socket, which does not get its own message. */
  senderSocket: string;
}

export class DeliveryOrder {
  private readonly conversations = new Map<string, Conversation>();

  /**
   * @param deliver hands a message to this process's sockets in its room but `senderSocket`
   * @param report told when held messages went out without their predecessor (a stall worth seeing)
   * @param holdMs how long a message waits for a missing predecessor
   */
  constructor(
    private readonly deliver: (message: MessagePayload, senderSocket: string) => void,
    private readonly report: (line: string) => void = () => undefined,
    private readonly holdMs = HOLD_MS,
  ) {}

  /** A socket of this process joined `conv`, whose newest seq then was `lastSeq`. */
  joined(conv: string, lastSeq: number): void {
    if (!this.conversations.has(conv)) this.conversations.set(conv, { next: lastSeq + 1, held: new Map(), timer: undefined });
  }

  /** A stored message, from this process or the other one. */
  arrived(message: MessagePayload, senderSocket: string): void {
    const conversation = this.conversations.get(message.conv);
    if (conversation === undefined) {
      this.conversations.set(message.conv, { next: message.seq + 1, held: new Map(), timer: undefined });
      this.deliver(message, senderSocket);
      return;
    }
    if (message.seq < conversation.next) {
      this.deliver(message, senderSocket); // older than where this process started: nobody waits on order
      return;
    }
    conversation.held.set(message.seq, { message, senderSocket });
    this.release(message.conv, conversation);
  }

  /** Hands out every held message that is next in line; arms the hold timer for any left. */
  private release(conv: string, conversation: Conversation): void {
    for (let held = conversation.held.get(conversation.next); held !== undefined; held = conversation.held.get(conversation.next)) {
      conversation.held.delete(conversation.next);
      conversation.next += 1;
      this.deliver(held.message, held.senderSocket);
    }
    if (conversation.held.size === 0) {
      if (conversation.timer !== undefined) clearTimeout(conversation.timer);
      conversation.timer = undefined;
    } else if (conversation.timer === undefined) {
      conversation.timer = setTimeout(() => this.giveUpWaiting(conv, conversation), this.holdMs);
    }
  }

  /** The missing predecessor is not coming: skip to the oldest held message. */
  private giveUpWaiting(conv: string, conversation: Conversation): void {
    conversation.timer = undefined;
    if (conversation.held.size === 0) return;
    const oldest = Math.min(...conversation.held.keys());
    this.report(`conversation ${conv}: seq ${conversation.next} did not arrive within ${this.holdMs} ms; delivering from seq ${oldest}`);
    conversation.next = oldest;
    this.release(conv, conversation);
  }
}
