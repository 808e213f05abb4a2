/**
 * The repo role's side of the storage rpc (proto/troupe/v1/repo.proto): each call becomes the
 * Store call it mirrors, on the store that `storeFor` gives for the call's routing key
 * (grpc-routing.ts, computed from the request as the caller computed it). A repo node's
 * `storeFor` throws `not_owner` for a key whose shard it does not own, so such a call is
 * refused before anything is done; given a plain Store, every key is served by it. Failures
 * travel back as statuses carrying the exact TroupeError code (transport/rpc/status.ts); the
 * handlers run in the caller's trace context (transport/rpc/unary-handler.ts).
 */
import { RepoService, type RepoServer } from '../../proto/gen/troupe/v1/repo.js';
import type { RpcService } from '../rpc/service.js';
import { unaryHandler } from '../rpc/unary-handler.js';
import { errorForCaller } from '../rpc/status.js';
import { appendKey, routingKeyOf, type RepoMethod, type RequestOf, type ResponseOf } from './grpc-routing.js';
import {
  batchFromWire,
  conversationFromWire,
  conversationToWire,
  fenceFromWire,
  memberProfileToWire,
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

/**
 * The store that serves calls routed by `routingKey`; throws (a TroupeError, typically
 * `not_owner`) to refuse the call before any work.
 */
export type StoreFor = (routingKey: string) => Store;

/** The `troupe.v1.Repo` service over `backend` (one store for every key, or a store per key), for startRpcServer. */
export function repoService(backend: Store | StoreFor): RpcService {
  const storeFor: StoreFor = typeof backend === 'function' ? backend : () => backend;
  /** The handler of `method`: picks the store of the request's routing key, then runs `handle` on it. */
  const on = <M extends RepoMethod>(method: M, handle: (store: Store, request: RequestOf<M>) => Promise<ResponseOf<M>>) =>
    unaryHandler(RepoService[method].path, async (request: RequestOf<M>) => handle(storeFor(routingKeyOf(method, request)), request));
  const implementation: RepoServer = {
    createUser: on('createUser', async (store, req) => {
      await store.createUser(userFromWire(present(req.user, 'user')));
      return {};
    }),
    getUser: on('getUser', async (store, req) => {
      const user = await store.getUser(req.id);
      return { user: user === null ? undefined : userToWire(user) };
    }),
    getUserByUsername: on('getUserByUsername', async (store, req) => {
      const user = await store.getUserByUsername(req.username);
      return { user: user === null ? undefined : userToWire(user) };
    }),
    getUsers: on('getUsers', async (store, req) => ({ users: (await store.getUsers(req.ids)).map(userToWire) })),

    insertRefreshToken: on('insertRefreshToken', async (store, req) => {
      await store.insertRefreshToken(tokenFromWire(present(req.token, 'token')));
      return {};
    }),
    getRefreshToken: on('getRefreshToken', async (store, req) => {
      const token = await store.getRefreshToken(req.tokenHash);
      return { token: token === null ? undefined : tokenToWire(token) };
    }),
    rotateRefreshToken: on('rotateRefreshToken', async (store, req) => ({
      spent: await store.rotateRefreshToken(req.tokenHash, req.usedAt, tokenFromWire(present(req.next, 'next'))),
    })),
    revokeRefreshFamily: on('revokeRefreshFamily', async (store, req) => {
      await store.revokeRefreshFamily(req.familyId);
      return {};
    }),

    createGroup: on('createGroup', async (store, req) => {
      await store.createGroup(conversationFromWire(present(req.conv, 'conv')), req.memberIds);
      return {};
    }),
    getOrCreateDirect: on('getOrCreateDirect', async (store, req) => {
      const { conv, created } = await store.getOrCreateDirect(req.id, req.userA, req.userB, req.createdAt);
      return { conv: conversationToWire(conv), created };
    }),
    getConversation: on('getConversation', async (store, req) => {
      const conv = await store.getConversation(req.id);
      return { conv: conv === null ? undefined : conversationToWire(conv) };
    }),
    getMembers: on('getMembers', async (store, req) => ({ members: (await store.getMembers(req.conv)).map(memberToWire) })),
    listMembers: on('listMembers', async (store, req) => {
      const page = await store.listMembers(req.conv, req.after, req.limit);
      return { members: page.members.map(memberProfileToWire), more: page.more };
    }),
    getMember: on('getMember', async (store, req) => {
      const member = await store.getMember(req.conv, req.userId);
      return { member: member === null ? undefined : memberToWire(member) };
    }),
    listMemberships: on('listMemberships', async (store, req) => ({
      memberships: (await store.listMemberships(req.userId)).map(membershipToWire),
    })),
    directPeers: on('directPeers', async (store, req) => ({ userIds: await store.directPeers(req.userId) })),
    addMembers: on('addMembers', async (store, req) => ({
      added: await store.addMembers(req.conv, req.userIds, req.joinedAt, fenceFromWire(req.fence)),
    })),
    removeMember: on('removeMember', async (store, req) => {
      const conv = await store.removeMember(req.conv, req.userId, fenceFromWire(req.fence));
      return { conv: conv === null ? undefined : conversationToWire(conv) };
    }),

    appendMessages: on('appendMessages', async (store, req) => {
      await store.appendMessages(req.batches.map(batchFromWire));
      return {};
    }),
    // The first append's key routed the call here (and was checked by `on`); each append is
    // then run on the store of its own key, all side by side, and answered on its own
    // (grpc-append-coalescer.ts). One that is not this node's is refused with not_owner alone.
    appendEach: on('appendEach', async (_store, req) => ({
      outcomes: await Promise.all(
        req.appends.map(async (append) => {
          try {
            await storeFor(appendKey(append.batches)).appendMessages(append.batches.map(batchFromWire));
            return { code: '', message: '', retriable: false };
          } catch (err) {
            const error = errorForCaller(err);
            return { code: error.code, message: error.message, retriable: error.retriable };
          }
        }),
      ),
    })),
    listMessages: on('listMessages', async (store, req) => {
      const page = await store.listMessages(req.conv, req.after, req.limit);
      return { messages: page.messages.map(messageToWire), more: page.more };
    }),
    findByClientIds: on('findByClientIds', async (store, req) => ({
      messages: (await store.findByClientIds(req.conv, req.keys)).map(messageToWire),
    })),
    advanceReadSeq: on('advanceReadSeq', async (store, req) => {
      const readSeq = await store.advanceReadSeq(req.conv, req.userId, req.seq, fenceFromWire(req.fence));
      return { readSeq: readSeq ?? undefined };
    }),

    ping: on('ping', async (store) => {
      await store.ping();
      return {};
    }),
  };
  return { name: 'troupe.v1.Repo', definition: RepoService, implementation };
}
