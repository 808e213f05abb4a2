/**
 * The JSON objects docs/protocol.md names (`<conversation>`, the user object), built from rows.
 */
import type { ConversationRow, UserRow } from '../../transport/store/port.js';

/** Groups with more members than this may omit `members` (docs/protocol.md allows it over 1,000). */
export const MEMBER_LIST_LIMIT = 1000;

export interface UserDto {
  id: string;
  username: string;
  displayName: string;
}

export interface ConversationDto {
  id: string;
  type: 'direct' | 'group';
  name?: string;
  owner?: string | null;
  members?: string[];
  memberCount: number;
  lastSeq: number;
  readSeq: number;
  createdAt: number;
}

export function userDto(user: UserRow): UserDto {
  return { id: user.id, username: user.username, displayName: user.displayName };
}

/**
 * `memberIds` in join order, omitted from the object for groups whose `memberCount` is over
 * MEMBER_LIST_LIMIT. Given as a function, the list is made only when it is shown, so a large
 * group's DTO costs nothing per member.
 */
export function conversationDto(conv: ConversationRow, memberIds: readonly string[] | (() => readonly string[]), readSeq: number): ConversationDto {
  const dto: ConversationDto = { id: conv.id, type: conv.type, memberCount: conv.memberCount, lastSeq: conv.lastSeq, readSeq, createdAt: conv.createdAt };
  if (conv.type === 'group') {
    dto.name = conv.name ?? '';
    dto.owner = conv.ownerId;
  }
  if (conv.type === 'direct' || conv.memberCount <= MEMBER_LIST_LIMIT) dto.members = [...(typeof memberIds === 'function' ? memberIds() : memberIds)];
  return dto;
}
