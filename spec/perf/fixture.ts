/**
 * The data a memory measurement starts from (measure-memory.ts): users, pairs of them in direct
 * conversations, and an access token per user, written straight into a new data folder before
 * the server starts. Registering over HTTP would spend the time on password hashing; the
 * tokens are signed with the folder's own key, so the server verifies them as any other.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessTokens } from '../../actors/auth/tokens.js';
import { newId } from '../../actors/ids.js';
import { loadOrCreateSigningKeys } from '../../bin/signing-keys.js';
import { migrateLatest } from '../../sql/migrate.js';
import { openSqliteStore } from '../../transport/store/sqlite.js';

export interface FixtureUser {
  id: string;
  token: string;
}

/** A direct conversation of users[first] and users[second]. */
export interface FixtureConversation {
  id: string;
  first: number;
  second: number;
}

export interface Fixture {
  dataDir: string;
  users: FixtureUser[];
  conversations: FixtureConversation[];
}

/** Users written at once: the store's write thread takes them in turn, this only keeps it fed. */
const CONCURRENT_WRITES = 64;

/** Runs `task(i)` for i in [0, count), at most `limit` at a time. */
async function forEach(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * A new data folder with `userCount` users and `pairs` direct conversations (users 2p and 2p+1).
 * Access tokens live as long as the server's default (15 minutes), enough for a measurement.
 */
export async function prepareFixture(userCount: number, pairs: number): Promise<Fixture> {
  if (2 * pairs > userCount) throw new Error(`${pairs} pairs need ${2 * pairs} users, not ${userCount}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'troupe-measure-'));
  try {
    return await fill(dataDir, userCount, pairs);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function fill(dataDir: string, userCount: number, pairs: number): Promise<Fixture> {
  const { store, knex } = await openSqliteStore(join(dataDir, 'troupe.sqlite'));
  try {
    await migrateLatest(knex);
    const keys = await loadOrCreateSigningKeys(join(dataDir, 'keys'));
    const tokens = new AccessTokens(keys, { issuer: 'troupe', audience: 'troupe-clients', accessTokenTtlSec: 900, verifiedCacheSize: 0 });
    const users: FixtureUser[] = new Array<FixtureUser>(userCount);
    const now = Date.now();
    await forEach(userCount, CONCURRENT_WRITES, async (i) => {
      const id = newId('u');
      const username = `measure${i}`;
      await store.createUser({ id, username, displayName: username, passwordHash: 'x', createdAt: now });
      users[i] = { id, token: (await tokens.issue({ id, username, displayName: username })).accessToken };
    });
    const conversations: FixtureConversation[] = new Array<FixtureConversation>(pairs);
    await forEach(pairs, CONCURRENT_WRITES, async (p) => {
      const { conv } = await store.getOrCreateDirect(newId('c'), users[2 * p]!.id, users[2 * p + 1]!.id, now);
      conversations[p] = { id: conv.id, first: 2 * p, second: 2 * p + 1 };
    });
    return { dataDir, users, conversations };
  } finally {
    await store.close();
  }
}
