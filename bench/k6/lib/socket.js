// @ts-check
/**
 * One Troupe WebSocket (docs/protocol.md, "The WebSocket"): opens with the session's access token,
 * parses every frame, resolves `ready` with the first frame, and hands acks, pushes, history pages,
 * pongs and error frames to whoever drives the scenario. It also keeps, per conversation, every
 * seq this socket has seen (its own acks, pushes, history), so a scenario can check at the end that
 * nothing fell between them: the gap detection of the protocol guide, "History, sync and gap
 * detection".
 */
import { check } from 'k6';
import { WebSocket } from 'k6/websockets';
import { WS_URL, console } from './env.js';
import { errors, pongLatency, readyLatency } from './metrics.js';

/**
 * @typedef {import('./api.js').Session} Session
 * @typedef {{ id: string, lastSeq: number, readSeq: number }} ReadyConversation
 * @typedef {{ type: 'ready', user: { id: string }, conversations: ReadyConversation[] }} ReadyFrame
 * @typedef {{ type: 'ack', id: string, conv: string, seq: number, ts: number }} AckFrame
 * @typedef {{ conv: string, seq: number, id: string, from: string, body: Record<string, unknown>, ts: number }} StoredMessage
 * @typedef {StoredMessage & { type: 'msg' }} MsgFrame
 * @typedef {{ type: 'history', conv: string, more: boolean, messages: StoredMessage[] }} HistoryFrame
 * @typedef {{ type: 'error', ref?: string, code: string, message: string }} ErrorFrame
 * @typedef {ReadyFrame | AckFrame | MsgFrame | HistoryFrame | ErrorFrame | { type: 'pong' } | { type: 'presence' | 'conversation' | 'member' | 'read' | 'typing' }} Frame
 */

const FRAME_TYPES = ['ready', 'ack', 'msg', 'history', 'error', 'pong', 'presence', 'conversation', 'member', 'read', 'typing'];

/**
 * A frame the server sent, or null when it is not a JSON object with a known `type`.
 * @param {unknown} data
 * @returns {Frame | null}
 */
export function parseFrame(data) {
  if (typeof data !== 'string') return null;
  try {
    const frame = JSON.parse(data);
    if (typeof frame !== 'object' || frame === null || !FRAME_TYPES.includes(frame.type)) return null;
    return /** @type {Frame} */ (frame);
  } catch {
    return null;
  }
}

export class TroupeSocket {
  /**
   * Starts connecting at once; await `ready` before sending.
   * @param {Session} session
   */
  constructor(session) {
    this.session = session;
    this.createdAt = Date.now();
    /** @type {(frame: AckFrame) => void} */
    this.onAck = () => {};
    /** @type {(frame: MsgFrame) => void} */
    this.onMsg = () => {};
    /** @type {(frame: HistoryFrame) => void} */
    this.onHistory = () => {};
    /** @type {(frame: ErrorFrame) => void} */
    this.onRefused = () => {};
    /** @type {Map<string, number>} highest ack seq per conversation, to check that acks increase */
    this.lastAckSeq = new Map();
    /** @type {Map<string, { from: number, seen: Set<number> }>} per conversation: tracked from which seq, and the seqs seen */
    this.seqs = new Map();
    /** @type {Array<{ sentAt: number, answered: (ok: boolean) => void }>} pings not yet answered, oldest first */
    this.pings = [];
    this.closing = false;
    this.closed = false;
    /** An error was already counted for this socket (a failed handshake also closes it). */
    this.failed = false;

    /** @type {(frame: ReadyFrame | null) => void} */
    let resolveReady = () => {};
    /** @type {Promise<ReadyFrame | null>} the `ready` frame, or null if the socket failed or closed first */
    this.ready = new Promise((resolve) => { resolveReady = resolve; });
    this.resolveReady = resolveReady;
    /** @type {() => void} */
    let resolveClosed = () => {};
    /** @type {Promise<void>} resolves once the socket is closed, whoever closed it */
    this.whenClosed = new Promise((resolve) => { resolveClosed = resolve; });
    this.resolveClosed = resolveClosed;

    this.ws = new WebSocket(`${WS_URL}?token=${encodeURIComponent(session.token)}`, null, { tags: { name: 'troupe /v1/ws' } });
    this.ws.onmessage = (event) => this.receive(event ? event.data : undefined);
    this.ws.onerror = (event) => {
      this.failed = true;
      errors.add(1, { kind: 'socket_error' });
      console.warn(`${session.username}: socket error: ${event ? event.error : 'unknown'}`);
      this.resolveReady(null);
    };
    this.ws.onclose = () => {
      if (!this.closing && !this.failed) {
        errors.add(1, { kind: 'unexpected_close' });
        console.warn(`${session.username}: socket closed by the server`);
      }
      this.closed = true;
      this.resolveReady(null);
      for (const ping of this.pings.splice(0)) ping.answered(false);
      this.resolveClosed();
    };
  }

  /** @param {Record<string, unknown>} frame */
  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  /**
   * Sends a keep-alive `ping`; its `pong` is timed into troupe_pong_ms.
   * @returns {Promise<boolean>} true once the pong is in, false if the socket closed first
   */
  ping() {
    /** @type {(ok: boolean) => void} */
    let answered = () => {};
    const pong = new Promise((resolve) => { answered = resolve; });
    this.pings.push({ sentAt: Date.now(), answered });
    this.send({ type: 'ping' });
    return pong;
  }

  /**
   * Starts gap tracking of `conv` from `have`: every seq above it should reach this socket.
   * `ready` starts each of its conversations at its lastSeq; a reconnecting client starts at the
   * seq it already held.
   * @param {string} conv
   * @param {number} have
   */
  trackFrom(conv, have) {
    this.seqs.set(conv, { from: have, seen: new Set() });
  }

  /**
   * Seqs above the tracking start of `conv` up to the highest one seen that never reached this
   * socket (by ack, push or history).
   * @param {string} conv
   * @returns {number[]}
   */
  gaps(conv) {
    const track = this.seqs.get(conv);
    if (!track) return [];
    const top = Math.max(track.from, ...track.seen);
    const missing = [];
    for (let seq = track.from + 1; seq <= top; seq++) if (!track.seen.has(seq)) missing.push(seq);
    return missing;
  }

  /**
   * The highest seq of `conv` up to which this socket has seen every message: what a client would
   * sync from after reconnecting (the protocol guide's `have`).
   * @param {string} conv
   * @returns {number}
   */
  have(conv) {
    const track = this.seqs.get(conv);
    if (!track) return 0;
    let seq = track.from;
    while (track.seen.has(seq + 1)) seq++;
    return seq;
  }

  /**
   * Closes the socket (as asked, so not an error); resolves once it is closed. A socket whose
   * handshake failed is closed already, whether or not a close event was emitted for it.
   */
  close() {
    this.closing = true;
    if (this.closed || this.ws.readyState === WebSocket.CLOSED) this.resolveClosed();
    else this.ws.close();
    return this.whenClosed;
  }

  /**
   * @param {string} conv
   * @param {number} seq
   */
  noteSeq(conv, seq) {
    const track = this.seqs.get(conv);
    if (track) track.seen.add(seq);
  }

  /** @param {unknown} data */
  receive(data) {
    const now = Date.now();
    const frame = parseFrame(data);
    if (frame === null) {
      errors.add(1, { kind: 'bad_frame' });
      console.warn(`${this.session.username}: a frame that is not a Troupe frame: ${String(data).slice(0, 120)}`);
      return;
    }
    switch (frame.type) {
      case 'ready':
        readyLatency.add(now - this.createdAt);
        for (const conv of frame.conversations) this.trackFrom(conv.id, conv.lastSeq);
        this.resolveReady(frame);
        break;
      case 'ack': {
        // Frames from one connection to one conversation are stored in the order sent, so each
        // ack's seq is above the previous one's (a re-send's ack would repeat one; none here).
        const previous = this.lastAckSeq.get(frame.conv) ?? 0;
        check(frame, { 'ack seq increases': (ack) => ack.seq > previous });
        this.lastAckSeq.set(frame.conv, Math.max(frame.seq, previous));
        this.noteSeq(frame.conv, frame.seq);
        this.onAck(frame);
        break;
      }
      case 'msg':
        this.noteSeq(frame.conv, frame.seq);
        this.onMsg(frame);
        break;
      case 'history':
        for (const message of frame.messages) this.noteSeq(frame.conv, message.seq);
        this.onHistory(frame);
        break;
      case 'pong': {
        const ping = this.pings.shift();
        if (ping !== undefined) {
          pongLatency.add(now - ping.sentAt);
          ping.answered(true);
        }
        break;
      }
      case 'error':
        errors.add(1, { kind: 'error_frame', code: frame.code });
        console.warn(`${this.session.username}: error frame ${frame.code} (ref ${frame.ref ?? '-'}): ${frame.message}`);
        this.onRefused(frame);
        break;
      default:
        // presence, conversation, member, read, typing: not part of what these scenarios measure.
        break;
    }
  }
}
