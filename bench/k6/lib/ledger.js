// @ts-check
/* global __VU, __ITER */
/**
 * The messages of one VU iteration: when each was meant to go out, whether its ack came back, and
 * which sockets still owe its push. Latencies are taken from the intended send time; anything
 * still owed when the iteration drains is counted as unacked or undelivered, never dropped.
 */
import { clearTimeout, setTimeout } from 'k6/timers';
import { console } from './env.js';
import { ackLatency, deliveryLatency, errors, messagesSent, unacked, undelivered } from './metrics.js';

/**
 * @typedef {import('./socket.js').TroupeSocket} TroupeSocket
 * @typedef {import('./socket.js').AckFrame} AckFrame
 * @typedef {import('./socket.js').MsgFrame} MsgFrame
 * @typedef {{ intendedAt: number, sender: TroupeSocket, acked: boolean, owed: Set<TroupeSocket> }} Entry
 */

export class Ledger {
  constructor() {
    /** @type {Map<string, Entry>} sent messages by client id (unique within an iteration) */
    this.entries = new Map();
    /** Acks and pushes still owed. */
    this.outstanding = 0;
    /** @type {() => void} called when nothing is owed any more (set by drain) */
    this.onSettled = () => {};
  }

  /**
   * Routes the acks, pushes and error frames of `socket` into this ledger.
   * @param {TroupeSocket} socket
   */
  watch(socket) {
    socket.onAck = (ack) => this.acked(socket, ack);
    socket.onMsg = (msg) => this.delivered(socket, msg);
    socket.onRefused = (frame) => {
      if (frame.ref !== undefined) this.refused(frame.ref);
    };
  }

  /**
   * Sends a message from `sender` to `conv` and expects a push at each of `recipients`.
   * @param {TroupeSocket} sender
   * @param {string} conv
   * @param {string} id client id, unique within the iteration
   * @param {number} intendedAt its slot in the schedule (ms since the epoch)
   * @param {TroupeSocket[]} recipients
   */
  send(sender, conv, id, intendedAt, recipients) {
    this.entries.set(id, { intendedAt, sender, acked: false, owed: new Set(recipients) });
    this.outstanding += 1 + recipients.length;
    messagesSent.add(1);
    sender.send({ type: 'send', id, conv, body: { text: `k6 ${id}` } });
  }

  /**
   * @param {TroupeSocket} socket
   * @param {AckFrame} ack
   */
  acked(socket, ack) {
    const entry = this.entries.get(ack.id);
    if (!entry || entry.sender !== socket || entry.acked) {
      errors.add(1, { kind: 'unexpected_ack' });
      console.warn(`${socket.session.username}: an ack nobody waited for: ${ack.id}`);
      return;
    }
    ackLatency.add(Date.now() - entry.intendedAt);
    entry.acked = true;
    this.settle(1);
  }

  /**
   * @param {TroupeSocket} socket
   * @param {MsgFrame} msg
   */
  delivered(socket, msg) {
    const entry = this.entries.get(msg.id);
    // Pushes of messages this iteration did not send (an earlier VU's, or another client's) are not ours to time.
    if (!entry || entry.sender.session.id !== msg.from) return;
    if (!entry.owed.delete(socket)) {
      errors.add(1, { kind: 'duplicate_push' });
      console.warn(`${socket.session.username}: ${msg.id} pushed twice`);
      return;
    }
    deliveryLatency.add(Date.now() - entry.intendedAt);
    this.settle(1);
  }

  /**
   * A send answered with an error frame (already counted as an error): nothing more is owed for it.
   * @param {string} id
   */
  refused(id) {
    const entry = this.entries.get(id);
    if (!entry || entry.acked) return;
    entry.acked = true;
    const owed = 1 + entry.owed.size;
    entry.owed.clear();
    this.settle(owed);
  }

  /**
   * Resolves once every ack and push is in, or after `timeoutMs`, whichever comes first.
   * @param {number} timeoutMs
   * @returns {Promise<void>}
   */
  drain(timeoutMs) {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(), timeoutMs);
      this.onSettled = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Counts what is still owed as unacked or undelivered. */
  close() {
    let missingAcks = 0;
    let missingPushes = 0;
    /** @type {string[]} */
    const incomplete = [];
    for (const [id, entry] of this.entries) {
      if (!entry.acked) missingAcks++;
      missingPushes += entry.owed.size;
      if (!entry.acked || entry.owed.size > 0) incomplete.push(id);
    }
    unacked.add(missingAcks);
    undelivered.add(missingPushes);
    if (incomplete.length > 0) console.warn(`${missingAcks} unacked, ${missingPushes} undelivered at drain (first: ${incomplete.slice(0, 3).join(', ')})`);
  }

  /** @param {number} count */
  settle(count) {
    this.outstanding -= count;
    if (this.outstanding === 0) this.onSettled();
  }
}

/**
 * Calls `send(k, intendedAt)` for k = 0 … count-1 at `perSecond` a second, open loop: message k's
 * slot is start + k / perSecond whatever happened to the ones before it, and a late timer sends
 * late rather than shifting the schedule. Resolves after the last send.
 * @param {number} count
 * @param {number} perSecond
 * @param {(k: number, intendedAt: number) => void} send
 * @returns {Promise<void>}
 */
export function openLoop(count, perSecond, send) {
  const start = Date.now();
  const interval = 1000 / perSecond;
  return new Promise((resolve) => {
    let k = 0;
    const next = () => {
      if (k >= count) {
        resolve();
        return;
      }
      const intendedAt = start + k * interval;
      setTimeout(() => {
        send(k, intendedAt);
        k++;
        next();
      }, Math.max(0, intendedAt - Date.now()));
    };
    next();
  });
}

/**
 * A tag for this run, made once in setup() and handed to every VU. Client ids must be new for
 * every message a user sends: with users reused from an earlier run (USER_PREFIX), an id that run
 * already used would be answered as a re-send (the first message's ack, no push).
 * @returns {string}
 */
export function runTag() {
  return Math.random().toString(36).slice(2, 8);
}

/**
 * The client-id prefix of this VU iteration's messages: unique per run, VU and iteration.
 * @param {string} run runTag() from setup
 * @returns {string}
 */
export function messageIdPrefix(run) {
  return `${run}v${__VU}i${__ITER}`;
}
