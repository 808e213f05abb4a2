/**
 * The repo role's side of the storage rpc (proto/troupe/v1/repo.proto): each call becomes the
 * Store call it mirrors, on the store the repo node was given. Failures travel back as statuses
 * carrying the exact TroupeError code (transport/rpc/status.ts); the handlers run in the
 * caller's trace context (transport/rpc/unary-handler.ts).
 */
import { RepoService, type RepoServer } from '../../proto/gen/troupe/v1/repo.js';
import type { RpcService } from '../rpc/service.js';
import { unaryHandler } from '../rpc/unary-handler.js';
import {
  batchFromWire,
  conversationFromWire,
  conversationToWire,
  memberToWire,
  membershipToWire,
  messageToWire,
  present,
  tokenFromWire,
  tokenToWire,
  userFromWire,
  userToWire,
} from './grpc-rows.js';
import type { Store } from './port.js';

/** The `troupe.v1.Repo` service over `store`, for startRpcServer. */
export function repoService(store: Store): RpcService {
  const S = RepoService;
  const implementation: RepoServer = {
    createUser: unaryHandler(S.createUser.path, async (req) => {
      await store.createUser(userFromWire(present(req.user, 'user')));
      return {};
    }),
    getUser: unaryHandler(S.getUser.path, async (req) => {
      const user = await store.getUser(req.id);
      return { user: user === null ? undefined : userToWire(user) };
    }),
    getUserByUsername: unaryHandler(S.getUserByUsername.path, async (req) => {
      const user = await store.getUserByUsername(req.username);
      return { user: user === null ? undefined : userToWire(user) };
    }),
    getUsers: unaryHandler(S.getUsers.path, async (req) => ({ users: (await store.getUsers(req.ids)).map(userToWire) })),

    insertRefreshToken: unaryHandler(S.insertRefreshToken.path, async (req) => {
      await store.insertRefreshToken(tokenFromWire(present(req.token, 'token')));
      return {};
    }),
    getRefreshToken: unaryHandler(S.getRefreshToken.path, async (req) => {
      const token = await store.getRefreshToken(req.tokenHash);
      return { token: token === null ? undefined : tokenToWire(token) };
    }),
    rotateRefreshToken: unaryHandler(S.rotateRefreshToken.path, async (req) => ({
      spent: await store.rotateRefreshToken(req.tokenHash, req.usedAt, tokenFromWire(present(req.next, 'next'))),
    })),
    revokeRefreshFamily: unaryHandler(S.revokeRefreshFamily.path, async (req) => {
      await store.revokeRefreshFamily(req.familyId);
      return {};
    }),

    createGroup: unaryHandler(S.createGroup.path, async (req) => {
      await store.createGroup(conversationFromWire(present(req.conv, 'conv')), req.memberIds);
      return {};
    }),
    getOrCreateDirect: unaryHandler(S.getOrCreateDirect.path, async (req) => {
      const { conv, created } = await store.getOrCreateDirect(req.id, req.userA, req.userB, req.createdAt);
      return { conv: conversationToWire(conv), created };
    }),
    getConversation: unaryHandler(S.getConversation.path, async (req) => {
      const conv = await store.getConversation(req.id);
      return { conv: conv === null ? undefined : conversationToWire(conv) };
    }),
    getMembers: unaryHandler(S.getMembers.path, async (req) => ({ members: (await store.getMembers(req.conv)).map(memberToWire) })),
    getMember: unaryHandler(S.getMember.path, async (req) => {
      const member = await store.getMember(req.conv, req.userId);
      return { member: member === null ? undefined : memberToWire(member) };
    }),
    listMemberships: unaryHandler(S.listMemberships.path, async (req) => ({
      memberships: (await store.listMemberships(req.userId)).map(membershipToWire),
    })),
    directPeers: unaryHandler(S.directPeers.path, async (req) => ({ userIds: await store.directPeers(req.userId) })),
    addMembers: unaryHandler(S.addMembers.path, async (req) => ({ added: await store.addMembers(req.conv, req.userIds, req.joinedAt) })),
    removeMember: unaryHandler(S.removeMember.path, async (req) => {
      const conv = await store.removeMember(req.conv, req.userId);
      return { conv: conv === null ? undefined : conversationToWire(conv) };
    }),

    appendMessages: unaryHandler(S.appendMessages.path, async (req) => {
      await store.appendMessages(req.batches.map(batchFromWire));
      return {};
    }),
    listMessages: unaryHandler(S.listMessages.path, async (req) => {
      const page = await store.listMessages(req.conv, req.after, req.limit);
      return { messages: page.messages.map(messageToWire), more: page.more };
    }),
    findByClientIds: unaryHandler(S.findByClientIds.path, async (req) => ({
      messages: (await store.findByClientIds(req.conv, req.keys)).map(messageToWire),
    })),
    advanceReadSeq: unaryHandler(S.advanceReadSeq.path, async (req) => {
      const readSeq = await store.advanceReadSeq(req.conv, req.userId, req.seq);
      return { readSeq: readSeq ?? undefined };
    }),

    ping: unaryHandler(S.ping.path, async () => {
      await store.ping();
      return {};
    }),
  };
  return { name: 'troupe.v1.Repo', definition: RepoService, implementation };
}
