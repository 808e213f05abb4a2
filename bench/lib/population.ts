/**
 * The users and conversations the load runs over: `users` registered and logged in, `groups`
 * groups of `groupSize` consecutive users (wrapping around), and `directs` direct conversations
 * between neighbours on a ring (user i with user i+1). With the defaults every user is in one
 * group and two direct conversations.
 *
 * Every HTTP call goes to the acting user's entry point (`apiFor(user)`): against a cluster, each
 * user registers, logs in and creates its conversations through its own gateway.
 */
import { mapConcurrently, type HttpApi, type Session } from './http-api.js';

export interface BenchConversation {
  id: string;
  kind: 'group' | 'direct';
  /** Indexes into Population.users. */
  members: number[];
}

export interface Population {
  users: Session[];
  conversations: BenchConversation[];
}

export interface PopulationShape {
  users: number;
  groups: number;
  groupSize: number;
  directs: number;
}

/** HTTP requests in flight during setup; the server hashes passwords on a pool of 4. */
const SETUP_CONCURRENCY = 16;

/** The HTTP API that user i calls. */
export type ApiFor = (user: number) => HttpApi;

/** Registers and logs in `count` users named `<prefix>_<i>`, reporting every 500. */
export async function registerUsers(apiFor: ApiFor, prefix: string, count: number, progress: (line: string) => void): Promise<Session[]> {
  const indexes = Array.from({ length: count }, (_, i) => i);
  let done = 0;
  return mapConcurrently(indexes, SETUP_CONCURRENCY, async (i) => {
    const session = await apiFor(i).registerAndLogin(`${prefix}_${i}`);
    done += 1;
    if (done % 500 === 0 || done === count) progress(`  registered and logged in ${done}/${count} users`);
    return session;
  });
}

export async function createPopulation(apiFor: ApiFor, prefix: string, shape: PopulationShape, progress: (line: string) => void): Promise<Population> {
  const users = await registerUsers(apiFor, prefix, shape.users, progress);

  const groupMembers = Array.from({ length: shape.groups }, (_, g) =>
    Array.from({ length: shape.groupSize }, (_, k) => (g * shape.groupSize + k) % shape.users),
  );
  const groups = await mapConcurrently(groupMembers, SETUP_CONCURRENCY, async (members, g): Promise<BenchConversation> => {
    const [owner, ...rest] = members;
    const id = await apiFor(owner!).createGroup(users[owner!]!, `bench group ${g}`, rest.map((m) => users[m]!.userId));
    return { id, kind: 'group', members };
  });

  const pairs = Array.from({ length: shape.directs }, (_, i) => [i % shape.users, (i + 1) % shape.users]);
  const directs = await mapConcurrently(pairs, SETUP_CONCURRENCY, async ([a, b]): Promise<BenchConversation> => {
    const id = await apiFor(a!).createDirect(users[a!]!, users[b!]!.userId);
    return { id, kind: 'direct', members: [a!, b!] };
  });
  progress(`  created ${groups.length} groups of ${shape.groupSize} and ${directs.length} direct conversations`);
  return { users, conversations: [...groups, ...directs] };
}
