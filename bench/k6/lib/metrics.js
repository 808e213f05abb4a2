// @ts-check
/**
 * The custom metrics the scenarios record. Latencies are in milliseconds and, for messages, taken
 * from the message's *intended* send time (its slot in the open-loop schedule), so a generator or
 * server that falls behind shows up as latency instead of silently lowering the rate.
 */
import { Counter, Trend } from 'k6/metrics';

/** Intended send time → the sender's `ack` (the message is durably stored). */
export const ackLatency = new Trend('troupe_ack_ms', true);
/** Intended send time → the `msg` push at another member's socket. */
export const deliveryLatency = new Trend('troupe_delivery_ms', true);
/** Socket created → its `ready` frame (handshake, token check, session snapshot). */
export const readyLatency = new Trend('troupe_ready_ms', true);
/** First `sync` sent → last `history` page (`more: false`) after a reconnect. */
export const syncLatency = new Trend('troupe_sync_ms', true);
/** `ping` frame sent → `pong` frame received. */
export const pongLatency = new Trend('troupe_pong_ms', true);

/** `send` frames written. */
export const messagesSent = new Counter('troupe_messages_sent');
/** Error frames, failed handshakes, closes nobody asked for, frames that do not parse, duplicate pushes. */
export const errors = new Counter('troupe_errors');
/** Sends that got neither an ack nor an error frame before the iteration's drain timeout. */
export const unacked = new Counter('troupe_unacked');
/** Expected deliveries (push, or history after a reconnect) that never arrived. */
export const undelivered = new Counter('troupe_undelivered');

/**
 * Adds 0 to the error counters at the end of an iteration, so a clean run shows them in the
 * summary as 0 rather than leaving them out, and their `count==0` thresholds rest on samples.
 */
export function touchErrorCounters() {
  errors.add(0);
  unacked.add(0);
  undelivered.add(0);
}
