/**
 * The client id of every benchmark message carries what a recipient needs to check and time it:
 * the phase tag, the sender's index, the sender's own counter and the intended send time. Every
 * wire reports a `msg` frame's id (docs/protocol.md: the id is the sender's client id), so a
 * recipient in any worker process can measure delivery latency from the intended time without a
 * table of what was sent, and check per-sender order from the counter.
 *
 * Shape: `<tag>_<sender>_<n>_<intended µs since the epoch>`, numbers in base 36; at most about
 * 40 characters of [A-Za-z0-9_], within the protocol's 64 of [A-Za-z0-9_-].
 */

export interface MessageKey {
  tag: string;
  sender: number;
  n: number;
  /** Intended send time, milliseconds since the Unix epoch (fractional). */
  intendedAt: number;
}

export function encodeMessageId(key: MessageKey): string {
  return `${key.tag}_${key.sender.toString(36)}_${key.n.toString(36)}_${Math.round(key.intendedAt * 1000).toString(36)}`;
}

/** The key of a benchmark id, or undefined for an id this run did not make. */
export function decodeMessageId(id: string): MessageKey | undefined {
  const parts = id.split('_');
  if (parts.length !== 4) return undefined;
  const sender = parseInt(parts[1]!, 36);
  const n = parseInt(parts[2]!, 36);
  const micros = parseInt(parts[3]!, 36);
  if (!Number.isFinite(sender) || !Number.isFinite(n) || !Number.isFinite(micros)) return undefined;
  return { tag: parts[0]!, sender, n, intendedAt: micros / 1000 };
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes on one machine. */
export function epochMillis(): number {
  return performance.timeOrigin + performance.now();
}
