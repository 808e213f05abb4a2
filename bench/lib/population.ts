/**
 * The users and conversations a scenario runs over, set up through the public HTTP API
 * (docs/protocol.md) of whichever target: users registered and logged in, direct conversations
 * between users 2k and 2k+1, or one group, to which other users (e.g. offline ones written into
 * storage, bench/lib/offline-users.ts) can then be added. Every call goes to the acting user's
 * entry point (`apiFor(user)`), so against a cluster each user registers and logs in through its
 * own gateway.
 */
import { mapConcurrently, type HttpApi, type Session } from './http-api.js';

/** HTTP requests in flight during setup; Troupe hashes passwords on a pool of 4. */
const SETUP_CONCURRENCY = 16;
/** Members per request when a group is filled: a group's member list must fit in one HTTP body (64 KiB). */
const MEMBERS_PER_REQUEST = 1000;
/** Members added between progress lines. */

/** The HTTP API that user i calls. */
export type ApiFor = (user: number) => HttpApi;

/** Registers and logs in `count` users named `<prefix>_<i>`, reporting every 1000. */
export async function registerUsers(apiFor: ApiFor, prefix: string, count: number, progress: (line: string) => void): Promise<Session[]> {
  const indexes = Array.from({ length: count }, (_, i) => i);
  let done = 0;
  return mapConcurrently(indexes, SETUP_CONCURRENCY, async (i) => {
    const session = await apiFor(i).registerAndLogin(`${prefix}_${i}`);
    done += 1;
    if (done % 1000 === 0 || done === count) progress(`  registered and logged in ${done}/${count} users`);
    return session;
  });
}

/** Direct conversations of users (2k, 2k+1); returns their ids by k. */
export async function createPairs(apiFor: ApiFor, users: readonly Session[]): Promise<string[]> {
  const pairs = Array.from({ length: Math.floor(users.length / 2) }, (_, k) => k);
  return mapConcurrently(pairs, SETUP_CONCURRENCY, (k) => apiFor(2 * k).createDirect(users[2 * k]!, users[2 * k + 1]!.userId));
}

/** One group owned by user 0 with every other user of `users` as a member; returns its id. */
export async function createGroup(apiFor: ApiFor, users: readonly Session[], name: string): Promise<string> {
  const [owner, ...rest] = users;
  const ids = rest.map((u) => u.userId);
  const id = await apiFor(0).createGroup(owner!, name, ids.slice(0, MEMBERS_PER_REQUEST));
  for (let i = MEMBERS_PER_REQUEST; i < ids.length; i += MEMBERS_PER_REQUEST) {
    await apiFor(0).addMembers(owner!, id, ids.slice(i, i + MEMBERS_PER_REQUEST));
  }
  return id;
}
