/**
 * The Socket.IO peer's events, typed once for the server (socket-events.ts) and the client wire
 * (wire.ts). Payloads carry docs/protocol.md's fields; only the framing is Socket.IO's (an event
 * name instead of `type`, an acknowledgement instead of an `ack` frame).
 */

export interface SendPayload {
  id: string;
  conv: string;
  body: { text: string } | Record<string, unknown>;
}

export interface SyncPayload {
  conv: string;
  after: number;
  limit: number;
}

export interface ErrorPayload {
  code: string;
  message: string;
}

/** The acknowledgement of a `send`: the stored seq and ts, or why it was refused. */
export type SendAnswer = { id: string; seq: number; ts: number } | { error: ErrorPayload };

export interface MessagePayload {
  conv: string;
  seq: number;
  id: string;
  from: string;
  body: Record<string, unknown>;
  ts: number;
}

export interface HistoryPayload {
  conv: string;
  messages: MessagePayload[];
  more: boolean;
}

/** What a client emits. Payloads arrive unchecked, so the server types them `unknown` and parses them. */
export interface ClientEvents {
  send(frame: SendPayload, ack: (answer: SendAnswer) => void): void;
  sync(frame: SyncPayload): void;
}

export interface ServerEvents {
  msg(message: MessagePayload): void;
  history(page: HistoryPayload): void;
  /** A refused `sync`. */
  refused(error: ErrorPayload): void;
}
