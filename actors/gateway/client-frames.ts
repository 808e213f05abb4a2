/**
 * Parsing and validation of client frames (docs/protocol.md). A frame that is
 * refused yields the protocol's error code, a message naming the field, and the frame's `id`
 * as `ref` whenever it had a string one (even an invalid one).
 *
 * A `conv` that is a string but cannot be a conversation id is refused here with `not_found`,
 * exactly as the conversation actor refuses one that does not exist (docs/protocol.md,
 * "Errors"): nothing a client makes up is produced to the log or looked up in the store. It is
 * judged after every other field, so such a frame gets the answer a missing conversation would.
 */
import { isConversationId } from '../ids.js';

export interface FrameLimits {
  maxMessageBodyBytes: number;
  maxTextChars: number;
  syncDefaultLimit: number;
  syncMaxLimit: number;
}

export type ClientFrame =
  | { type: 'ping'; ref?: string }
  | { type: 'send'; id: string; conv: string; body: string }
  | { type: 'read'; conv: string; seq: number; ref?: string }
  | { type: 'typing'; conv: string; ref?: string }
  | { type: 'sync'; conv: string; after: number; limit: number; ref?: string };

export interface FrameRefusal {
  code: 'bad_request' | 'too_large' | 'not_found';
  message: string;
  ref?: string;
}

export type ParsedFrame = { ok: true; frame: ClientFrame } | ({ ok: false } & FrameRefusal);

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const CONV_FIELD = 'conv: a conversation id string is required';
const NO_SUCH_CONVERSATION = 'no such conversation';

function refuse(code: FrameRefusal['code'], message: string, ref: string | undefined): ParsedFrame {
  return ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
}

/** The shape of `conv`; whether the string can name a conversation is judged last. */
function isConvField(value: unknown): value is string {
  return typeof value === 'string';
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Integers past 2^53 are beyond every seq and page size: they act as the largest one. */
function clampSafe(value: number): number {
  return Math.min(value, Number.MAX_SAFE_INTEGER);
}

/** Code points in `text`, counting no further than `max + 1`. */
function exceedsChars(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}

export function parseClientFrame(text: string, limits: FrameLimits): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse('bad_request', 'frame: not valid JSON', undefined);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('bad_request', 'frame: a JSON object is expected', undefined);
  const frame = value as Record<string, unknown>;
  const ref = typeof frame.id === 'string' ? frame.id : undefined;
  const withRef = <T extends object>(f: T): T => (ref === undefined ? f : { ...f, ref });

  switch (frame.type) {
    case 'ping':
      return { ok: true, frame: withRef({ type: 'ping' as const }) };
    case 'send': {
      if (ref === undefined || !CLIENT_ID.test(ref)) return refuse('bad_request', 'id: 1–64 characters of A-Z a-z 0-9 _ - are required', ref);
      if (!isConvField(frame.conv)) return refuse('bad_request', CONV_FIELD, ref);
      const body = frame.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse('bad_request', 'body: an object is required', ref);
      const textField = (body as Record<string, unknown>).text;
      if (textField !== undefined && typeof textField !== 'string') return refuse('bad_request', 'body.text: must be a string', ref);
      if (typeof textField === 'string' && exceedsChars(textField, limits.maxTextChars)) {
        return refuse('too_large', `body.text: at most ${limits.maxTextChars} characters`, ref);
      }
      const bodyJson = JSON.stringify(body);
      if (Buffer.byteLength(bodyJson, 'utf8') > limits.maxMessageBodyBytes) {
        return refuse('too_large', `body: at most ${limits.maxMessageBodyBytes} bytes of JSON`, ref);
      }
      if (!isConversationId(frame.conv)) return refuse('not_found', NO_SUCH_CONVERSATION, ref);
      return { ok: true, frame: { type: 'send', id: ref, conv: frame.conv, body: bodyJson } };
    }
    case 'read':
      if (!isConvField(frame.conv)) return refuse('bad_request', CONV_FIELD, ref);
      if (!isSeq(frame.seq)) return refuse('bad_request', 'seq: a non-negative integer is required', ref);
      if (!isConversationId(frame.conv)) return refuse('not_found', NO_SUCH_CONVERSATION, ref);
      return { ok: true, frame: withRef({ type: 'read' as const, conv: frame.conv, seq: clampSafe(frame.seq) }) };
    case 'typing':
      if (!isConvField(frame.conv)) return refuse('bad_request', CONV_FIELD, ref);
      if (!isConversationId(frame.conv)) return refuse('not_found', NO_SUCH_CONVERSATION, ref);
      return { ok: true, frame: withRef({ type: 'typing' as const, conv: frame.conv }) };
    case 'sync': {
      if (!isConvField(frame.conv)) return refuse('bad_request', CONV_FIELD, ref);
      if (!isSeq(frame.after)) return refuse('bad_request', 'after: a non-negative integer is required', ref);
      let limit = limits.syncDefaultLimit;
      if (frame.limit !== undefined) {
        if (typeof frame.limit !== 'number' || !Number.isInteger(frame.limit) || frame.limit < 1) {
          return refuse('bad_request', 'limit: an integer from 1 is expected', ref);
        }
        limit = Math.min(frame.limit, limits.syncMaxLimit);
      }
      if (!isConversationId(frame.conv)) return refuse('not_found', NO_SUCH_CONVERSATION, ref);
      return { ok: true, frame: withRef({ type: 'sync' as const, conv: frame.conv, after: clampSafe(frame.after), limit }) };
    }
    case undefined:
      return refuse('bad_request', 'type: missing', ref);
    default:
      return refuse('bad_request', `type: unknown frame type ${JSON.stringify(String(frame.type)).slice(0, 40)}`, ref);
  }
}
