/**
 * The two client frames the peers act on, `send` and `sync` (docs/protocol.md), checked with the
 * protocol's rules. Parsers throw a TroupeError `bad_request` (or `too_large`) naming the field.
 */
import { TroupeError } from '../../transport/errors.js';

export interface SendFrame {
  id: string;
  conv: string;
  body: Record<string, unknown>;
}

export interface SyncFrame {
  conv: string;
  after: number;
  limit: number;
}

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_BODY_BYTES = 8 * 1024;
const MAX_TEXT_CHARS = 4000;
const SYNC_DEFAULT_LIMIT = 100;
const SYNC_MAX_LIMIT = 500;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The frame's `id` when it is a string (an error frame's `ref`), else undefined. */
export function refOf(frame: unknown): string | undefined {
  return isObject(frame) && typeof frame.id === 'string' ? frame.id : undefined;
}

export function parseSend(frame: unknown): SendFrame {
  if (!isObject(frame)) throw new TroupeError('bad_request', 'frame: not an object');
  const { id, conv, body } = frame;
  if (typeof id !== 'string' || !CLIENT_ID.test(id)) throw new TroupeError('bad_request', 'id: 1–64 characters of A-Z a-z 0-9 _ - are required');
  if (typeof conv !== 'string') throw new TroupeError('bad_request', 'conv: a conversation id is required');
  if (!isObject(body)) throw new TroupeError('bad_request', 'body: an object is required');
  if (body.text !== undefined && (typeof body.text !== 'string')) throw new TroupeError('bad_request', 'body.text: a string');
  if (typeof body.text === 'string' && [...body.text].length > MAX_TEXT_CHARS) throw new TroupeError('too_large', `body.text: over ${MAX_TEXT_CHARS} characters`);
  if (Buffer.byteLength(JSON.stringify(body)) > MAX_BODY_BYTES) throw new TroupeError('too_large', `body: over ${MAX_BODY_BYTES} bytes as JSON`);
  return { id, conv, body };
}

export function parseSync(frame: unknown): SyncFrame {
  if (!isObject(frame)) throw new TroupeError('bad_request', 'frame: not an object');
  const { conv, after, limit } = frame;
  if (typeof conv !== 'string') throw new TroupeError('bad_request', 'conv: a conversation id is required');
  if (typeof after !== 'number' || !Number.isInteger(after) || after < 0) throw new TroupeError('bad_request', 'after: a non-negative integer is required');
  if (limit === undefined) return { conv, after, limit: SYNC_DEFAULT_LIMIT };
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw new TroupeError('bad_request', 'limit: a positive integer');
  return { conv, after, limit: Math.min(limit, SYNC_MAX_LIMIT) };
}
