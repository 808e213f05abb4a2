/**
 * Protocol actions that many specs repeat: making conversations over HTTP, sending messages
 * over a WebSocket and reading whole histories back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Api, Json, LoggedIn, WsClient } from './client.js';

export async function createGroup(http: Api, owner: LoggedIn, members: string[], name = 'spec group'): Promise<Json> {
  const res = await http('POST', '/v1/conversations', { type: 'group', name, members }, owner.accessToken);
  if (res.status !== 201) throw new Error(`create group: ${res.status} ${res.text}`);
  return res.body;
}

export async function createDirect(http: Api, caller: LoggedIn, peerId: string): Promise<Json> {
  const res = await http('POST', '/v1/conversations', { type: 'direct', peer: peerId }, caller.accessToken);
  if (res.status !== 200) throw new Error(`create direct: ${res.status} ${res.text}`);
  return res.body;
}

let idCounter = 0;
/** A client message id unique within this process, e.g. `m-17-lx3k`. */
export function clientMsgId(prefix = 'm'): string {
  idCounter += 1;
  return `${prefix}-${idCounter}-${Date.now().toString(36)}`;
}

/**
 * Sends one message and resolves with its ack. A `rate_limited` refusal is answered the way a
 * well-behaved client would: wait and re-send the same id (safe, sends are idempotent). Any
 * other error frame for this id rejects.
 */
export async function sendMessage(client: WsClient, conv: string, body: unknown, id = clientMsgId(), timeoutMs = 10000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    client.send({ type: 'send', id, conv, body });
    const answer = await client.next(
      (f) => (f?.type === 'ack' && f.id === id && f.conv === conv) || (f?.type === 'error' && f.ref === id),
      Math.max(1, deadline - Date.now()),
    );
    if (answer.type === 'ack') return answer;
    if (answer.code !== 'rate_limited' || Date.now() > deadline) {
      throw new Error(`send ${id} refused: ${JSON.stringify(answer)}`);
    }
    await sleep(100);
  }
}

export interface SendManyOptions {
  /** Texts are `<prefix> <i>` and ids start with the prefix; default 'msg'. */
  prefix?: string;
  /** Most messages unacknowledged at once; default 50. */
  window?: number;
  /** Builds message i's body; default `{ text: '<prefix> <i>' }`. */
  body?: (i: number) => unknown;
}

/**
 * Sends `count` messages without waiting between them (up to `window` unacknowledged at once)
 * and resolves with the acks in sending order.
 */
export async function sendMany(client: WsClient, conv: string, count: number, options: SendManyOptions = {}): Promise<Json[]> {
  const { prefix = 'msg', window = 50 } = options;
  const bodyOf = options.body ?? ((i: number) => ({ text: `${prefix} ${i}` }));
  const idPrefix = prefix.replace(/[^A-Za-z0-9_-]/g, '');
  const acks: Json[] = new Array(count);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < count) {
      const i = nextIndex++;
      acks[i] = await sendMessage(client, conv, bodyOf(i), clientMsgId(idPrefix), 30000);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  return acks;
}

/** Every stored message of a conversation, fetched page by page over HTTP. */
export async function fetchAllMessages(http: Api, token: string, conv: string): Promise<Json[]> {
  const all: Json[] = [];
  let after = 0;
  for (;;) {
    const res = await http('GET', `/v1/conversations/${encodeURIComponent(conv)}/messages?after=${after}&limit=200`, undefined, token);
    if (res.status !== 200) throw new Error(`history of ${conv}: ${res.status} ${res.text}`);
    all.push(...res.body.messages);
    if (!res.body.more || res.body.messages.length === 0) return all;
    after = res.body.messages[res.body.messages.length - 1].seq;
  }
}

/** The conversation as the caller sees it (`GET /v1/conversations/:id`); throws unless 200. */
export async function getConversation(http: Api, token: string, conv: string): Promise<Json> {
  const res = await http('GET', `/v1/conversations/${encodeURIComponent(conv)}`, undefined, token);
  if (res.status !== 200) throw new Error(`get ${conv}: ${res.status} ${res.text}`);
  return res.body;
}
