/**
 * Server-to-client frames of docs/protocol.md, as JSON text. Built once per event and written as is
 * to every recipient's socket. Message bodies are kept as the JSON text the sender's frame
 * carried (validated at the gateway), so they are spliced in without parsing again.
 */
import type { MessageRow } from '../../transport/store/port.js';
import type { ConversationDto } from './dto.js';

const q = JSON.stringify;

/** `{"conv","seq","id","from","body","ts"}`: the message object of history and sync. */
export function messageJson(m: MessageRow): string {
  return `{"conv":${q(m.conv)},"seq":${m.seq},"id":${q(m.clientId)},"from":${q(m.from)},"body":${m.body},"ts":${m.ts}}`;
}

export function msgFrame(m: MessageRow): string {
  return `{"type":"msg","conv":${q(m.conv)},"seq":${m.seq},"id":${q(m.clientId)},"from":${q(m.from)},"body":${m.body},"ts":${m.ts}}`;
}

export function ackFrame(clientId: string, conv: string, seq: number, ts: number): string {
  return `{"type":"ack","id":${q(clientId)},"conv":${q(conv)},"seq":${seq},"ts":${ts}}`;
}

export function messagesJson(messages: readonly MessageRow[]): string {
  let out = '[';
  for (let i = 0; i < messages.length; i++) {
    if (i > 0) out += ',';
    out += messageJson(messages[i] as MessageRow);
  }
  return out + ']';
}

export function historyFrame(conv: string, messages: readonly MessageRow[], more: boolean): string {
  return `{"type":"history","conv":${q(conv)},"messages":${messagesJson(messages)},"more":${more}}`;
}

export function readFrame(conv: string, user: string, seq: number): string {
  return `{"type":"read","conv":${q(conv)},"user":${q(user)},"seq":${seq}}`;
}

export function typingFrame(conv: string, user: string): string {
  return `{"type":"typing","conv":${q(conv)},"user":${q(user)}}`;
}

export function conversationFrame(conversation: ConversationDto): string {
  return `{"type":"conversation","conversation":${q(conversation)}}`;
}

export function memberFrame(conv: string, event: 'joined' | 'left', user: string): string {
  return `{"type":"member","conv":${q(conv)},"event":"${event}","user":${q(user)}}`;
}

export function presenceFrame(user: string, online: boolean): string {
  return `{"type":"presence","user":${q(user)},"online":${online}}`;
}

export function errorFrame(code: string, message: string, ref?: string): string {
  return ref === undefined
    ? `{"type":"error","code":${q(code)},"message":${q(message)}}`
    : `{"type":"error","ref":${q(ref)},"code":${q(code)},"message":${q(message)}}`;
}

export const PONG_FRAME = '{"type":"pong"}';
