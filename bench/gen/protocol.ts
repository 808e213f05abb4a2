/**
 * The messages between `troupe bench` (the parent) and its generator workers (bench/gen/worker.ts),
 * over child_process IPC. Each worker owns a slice of the connections and records its own
 * histograms; it ships them encoded (bench/lib/hdr.ts) with its counters every second and at the
 * end of a phase, and the parent merges them (bench/gen/pool.ts). The parent samples CPU of every
 * worker from /proc, so the messages carry no CPU figures.
 */
import type { Wire } from '../lib/wire.js';

/** One connection a worker opens: user `user` (the run's index) on `baseUrl`. */
export interface SocketPlan {
  user: number;
  baseUrl: string;
  token: string;
  localAddress?: string;
}

/** How a worker picks the sender of each send among its slots. */
export type SlotPick = 'round-robin' | 'random';

/** One timed-load phase, as one worker sees it. */
export interface LoadPlan {
  /** Unique in the run, [A-Za-z0-9]: every client id of the phase starts with it. */
  tag: string;
  /** This worker's share of the offered rate (sends/s); 0 when it owns no sender. */
  rate: number;
  durationSec: number;
  /** Epoch ms of the first intended send, the same for every worker. */
  startAt: number;
  /** The send slots this worker drives: [sender user, conversation index]. */
  slots: Array<[number, number]>;
  pick: SlotPick;
  /** Conversation ids by index. */
  convIds: string[];
  /** Per conversation: how many connections other than the sender get each message. */
  recipients: number[];
  /** Text of every body: plain ASCII, nothing to escape. */
  text: string;
}

/** A history pull after reconnecting: each [user, conversation index] paged from 0 until `more` is false. */
export interface SyncPlan {
  convIds: string[];
  pulls: Array<[number, number]>;
  limit: number;
  /** Per conversation index: the client id stored at each seq (index seq − 1), as the run saw it acked. */
  expected: string[][];
}

export type ToWorker =
  | { type: 'connect'; wire: Wire['name']; sockets: SocketPlan[]; concurrency: number }
  | { type: 'load'; plan: LoadPlan }
  | { type: 'status' }
  | { type: 'finish' }
  | { type: 'sync'; plan: SyncPlan }
  | { type: 'disconnect' }
  | { type: 'exit' };

export interface Counters {
  sent: number;
  acked: number;
  /** Sends answered by an `error` frame instead of an ack. */
  refused: number;
  delivered: number;
  /** Deliveries owed for what this worker sent (recipients of each send not refused). */
  expectedDeliveries: number;
}

/** One second of one worker's phase. */
export interface Tick {
  /** Whole seconds since the phase's startAt (1 = the first second). */
  t: number;
  sent: number;
  acked: number;
  delivered: number;
  ackHistogram: string;
  deliveryHistogram: string;
}

/** What one worker found over a phase. */
export interface WorkerPhaseResult {
  counters: Counters;
  ackHistogram: string;
  deliveryHistogram: string;
  /** How late the generator handed sends to sockets against the schedule (its own lag). */
  sendLagHistogram: string;
  /** Every ack: [conversation index, seq, client id] (the id names the sender and its counter). */
  acks: Array<[number, number, string]>;
  /** Sends without an ack or error when the phase finished. */
  missingAcks: number;
  /** msg frames received per [conversation index, sender user, count]. */
  received: Array<[number, number, number]>;
  /** `error` frames by code. */
  errors: Record<string, number>;
  duplicateAcks: number;
  /** msg frames whose seq a recipient had already seen in that conversation. */
  duplicateDeliveries: number;
  /** msg frames whose seq was below one the recipient had already seen. */
  reorderedDeliveries: number;
  /** acks and msgs naming a message of this phase that was never sent, or a msg of one's own. */
  unknownFrames: number;
  /** acks and msgs of an earlier phase arriving late (reported, and already counted there as missing). */
  staleFrames: number;
  unexpectedCloses: number;
  maxBufferedBytes: number;
  examples: string[];
}

export interface WorkerSyncResult {
  /** Time from each `sync` to its `history` frame. */
  latencyHistogram: string;
  pages: number;
  messages: number;
  /** Stored messages (per the run's acks) that a pull did not return. */
  missing: number;
  duplicated: number;
  reordered: number;
  /** A seq returned with another client id than the one acked for it, or past the acked ones. */
  mismatched: number;
  errors: number;
  unexpectedCloses: number;
  examples: string[];
}

export type FromWorker =
  | { type: 'connecting'; ready: number; failed: number }
  | { type: 'connected'; ready: number; failed: number; firstError?: string; /** Epoch ms when its last socket became ready. */ lastReadyAt: number }
  | { type: 'tick'; tick: Tick }
  | { type: 'status'; counters: Counters; windowDone: boolean }
  | { type: 'finished'; result: WorkerPhaseResult }
  | { type: 'synced'; result: WorkerSyncResult }
  | { type: 'disconnected'; unexpectedCloses: number }
  | { type: 'failed'; message: string };
