/**
 * The paged member list (`GET /v1/conversations/:id/members?after=&limit=`, docs/protocol.md):
 * members by user id, with names and join times. Members only: a caller outside the
 * conversation, an unknown conversation and an id that cannot be one all get `not_found`, so the
 * answer never tells whether a conversation exists. Each page is one range read of the store
 * (Store.listMembers), so a page of a 100,000-member group costs what a page of a small one does,
 * and nothing here ever holds the whole member set.
 */
import { TroupeError } from '../../transport/errors.js';
import type { Store } from '../../transport/store/port.js';
import { isConversationId, MAX_ID_LENGTH } from '../ids.js';
import { parseLimitParam } from './conversation-requests.js';

/** Members per page when the caller names no limit. */
export const MEMBER_PAGE_DEFAULT = 100;
/** The largest page; a larger limit is cut to it. */
export const MEMBER_PAGE_MAX = 1000;

/** A member as the protocol shows it. */
export interface MemberDto {
  id: string;
  username: string;
  displayName: string;
  joinedAt: number;
}

export interface MemberPage {
  members: MemberDto[];
  more: boolean;
}

const AFTER = new RegExp(`^[A-Za-z0-9_-]{0,${MAX_ID_LENGTH}}$`);

/**
 * The page asked for by the query values `after` (a user id, or absent for the first page) and
 * `limit`. `after` need not name a member, nor anyone: the page starts at the next id above it.
 * Anything that could not be an id there, or a limit below 1 or not an integer, is
 * `invalid_argument`.
 */
export function parseMemberPageQuery(after: string | null, limit: string | null): { after: string; limit: number } {
  if (after !== null && !AFTER.test(after)) throw new TroupeError('invalid_argument', 'after: a user id is expected');
  return { after: after ?? '', limit: parseLimitParam(limit, MEMBER_PAGE_DEFAULT, MEMBER_PAGE_MAX) };
}

export class MemberList {
  constructor(private readonly store: Store) {}

  /** One page of `convId`'s members for `userId`, who must be one of them. */
  async page(userId: string, convId: string, after: string, limit: number): Promise<MemberPage> {
    if (!isConversationId(convId) || (await this.store.getMember(convId, userId)) === null) {
      throw new TroupeError('not_found', 'no such conversation');
    }
    const page = await this.store.listMembers(convId, after, limit);
    return {
      members: page.members.map((m) => ({ id: m.userId, username: m.username, displayName: m.displayName, joinedAt: m.joinedAt })),
      more: page.more,
    };
  }
}
