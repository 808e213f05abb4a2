/**
 * The routing key of every storage rpc, computed from the request alone, so that the caller
 * (grpc.ts, which sends the call to the owner of the key's shard) and the repo node
 * (grpc-service.ts, which refuses a key whose shard it does not own) agree on it without
 * trusting each other: both run this one table on the same request. The shard of a key is the
 * repo's one shard function (actors/repo/placement-keys.ts, `repoShardOf`).
 *
 * The keys: the conversation id for conversation, member and message calls; the user id for
 * createUser, getUser, listMemberships and directPeers; the username for getUserByUsername; the
 * token hash or family id for refresh-token calls; the first id for getUsers; the new id for
 * getOrCreateDirect and createGroup; for appendMessages its first conversation, or its first
 * unit when it carries no messages; for appendEach that of its first append; the empty key for
 * ping.
 */
import * as wire from '../../proto/gen/troupe/v1/repo.js';

/** A method of the `troupe.v1.Repo` service, by its ts-proto name (`getUser`, …). */
export type RepoMethod = keyof typeof wire.RepoService;
export type RequestOf<M extends RepoMethod> = Parameters<(typeof wire.RepoService)[M]['requestSerialize']>[0];
export type ResponseOf<M extends RepoMethod> = ReturnType<(typeof wire.RepoService)[M]['responseDeserialize']>;

const ROUTING_KEYS: { readonly [M in RepoMethod]: (request: RequestOf<M>) => string } = {
  createUser: (r) => r.user?.id ?? '',
  getUser: (r) => r.id,
  getUserByUsername: (r) => r.username,
  getUsers: (r) => r.ids[0] ?? '',
  insertRefreshToken: (r) => r.token?.tokenHash ?? '',
  getRefreshToken: (r) => r.tokenHash,
  rotateRefreshToken: (r) => r.tokenHash,
  revokeRefreshFamily: (r) => r.familyId,
  createGroup: (r) => r.conv?.id ?? '',
  getOrCreateDirect: (r) => r.id,
  getConversation: (r) => r.id,
  getMembers: (r) => r.conv,
  getMember: (r) => r.conv,
  listMembers: (r) => r.conv,
  listMemberships: (r) => r.userId,
  directPeers: (r) => r.userId,
  addMembers: (r) => r.conv,
  removeMember: (r) => r.conv,
  appendMessages: (r) => appendKey(r.batches),
  appendEach: (r) => appendKey(r.appends[0]?.batches ?? []),
  listMessages: (r) => r.conv,
  findByClientIds: (r) => r.conv,
  advanceReadSeq: (r) => r.conv,
  ping: () => '',
};

/** The routing key of a call of `method` with `request`. */
export function routingKeyOf<M extends RepoMethod>(method: M, request: RequestOf<M>): string {
  return (ROUTING_KEYS[method] as (request: RequestOf<M>) => string)(request);
}

/** The first conversation of an append, or its first unit when it has no messages. */
export function appendKey(batches: readonly wire.FencedBatch[]): string {
  for (const batch of batches) {
    const first = batch.messages[0];
    if (first !== undefined) return first.conv;
  }
  return batches[0]?.unit ?? '';
}
