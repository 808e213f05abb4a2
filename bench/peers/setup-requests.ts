/**
 * The request bodies of the HTTP setup subset every peer answers (docs/protocol.md: register,
 * log in, create a conversation, add members to a group), checked with the protocol's rules so a peer refuses what Troupe
 * refuses. Each parser returns the typed request or throws a TroupeError `invalid_argument`.
 * Registration and login are Troupe's own parsers (actors/auth/auth-requests.ts).
 */
import { hasCharCountBetween } from '../../actors/auth/auth-requests.js';
import { TroupeError } from '../../transport/errors.js';

export {
  parseLogin,
  parseRegistration as parseRegister,
  type LoginRequest,
  type RegistrationRequest as RegisterRequest,
} from '../../actors/auth/auth-requests.js';

export type ConversationRequest = { type: 'direct'; peer: string } | { type: 'group'; name: string; members: string[] };

const MAX_GROUP_NAME_CHARS = 100;

/** Parses a JSON body that must be an object. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TroupeError('invalid_argument', 'body: not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TroupeError('invalid_argument', 'body: not a JSON object');
  return value as Record<string, unknown>;
}

export function parseConversation(body: Record<string, unknown>, self: string): ConversationRequest {
  if (body.type === 'direct') {
    if (typeof body.peer !== 'string') throw new TroupeError('invalid_argument', 'peer: a user id is required');
    if (body.peer === self) throw new TroupeError('invalid_argument', 'peer: cannot be yourself');
    return { type: 'direct', peer: body.peer };
  }
  if (body.type === 'group') {
    const { name, members } = body;
    if (typeof name !== 'string' || !hasCharCountBetween(name, 1, MAX_GROUP_NAME_CHARS)) throw new TroupeError('invalid_argument', `name: 1–${MAX_GROUP_NAME_CHARS} characters`);
    if (!Array.isArray(members) || members.some((m) => typeof m !== 'string')) throw new TroupeError('invalid_argument', 'members: an array of user ids is required');
    // Duplicates and the creator's own id are ignored, as in Troupe.
    const others = [...new Set(members as string[])].filter((m) => m !== self);
    return { type: 'group', name, members: others };
  }
  throw new TroupeError('invalid_argument', "type: 'direct' or 'group'");
}

/** The user ids of POST /v1/conversations/:id/members, duplicates dropped; the list must not be empty. */
export function parseAddMembers(body: Record<string, unknown>): string[] {
  const { members } = body;
  if (!Array.isArray(members) || members.some((m) => typeof m !== 'string')) throw new TroupeError('invalid_argument', 'members: an array of user ids is required');
  if (members.length === 0) throw new TroupeError('invalid_argument', 'members: at least one user id is required');
  return [...new Set(members as string[])];
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || !header.startsWith('Bearer ')) return undefined;
  const token = header.slice('Bearer '.length).trim();
  return token === '' ? undefined : token;
}
