/**
 * The store contract over gRPC: GrpcStore -> repo rpc server (repoService) -> KnexStore on a
 * temporary SQLite file. Run once with one repo node, and once with two nodes that split the
 * routing keys between them by hash.
 *
 * The two nodes share one KnexStore (as repo nodes share one MySQL database): two KnexStores on
 * one SQLite file in one process would deadlock, since better-sqlite3 waits for the other
 * connection's lock synchronously, on the very event loop that connection needs to commit.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { migrateLatest } from '../../sql/migrate.js';
import { startRpcServer, type RpcServer } from '../../transport/rpc/server.js';
import { GrpcStore } from '../../transport/store/grpc.js';
import { repoService } from '../../transport/store/grpc-service.js';
import { openSqliteStore } from '../../transport/store/sqlite.js';
import { describeStoreContract } from '../contract/store.contract.js';

/** Generous limits: the contract checks the store, not the failure handling (rpc.spec.ts does). */
const CALL_LIMITS = { deadlineMs: 10_000, attempts: 3, breakerFailures: 20, breakerHalfOpenMs: 500 };

describe('gRPC store', function () {
  let dir: string;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'troupe-store-grpc-'));
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  async function openRepoNodes(name: string, count: number): Promise<{ addresses: string[]; close(): Promise<void> }> {
    const { store: database, knex } = await openSqliteStore(join(dir, name, 'troupe.db'));
    await migrateLatest(knex);
    const servers: RpcServer[] = [];
    for (let i = 0; i < count; i++) servers.push(await startRpcServer({ host: '127.0.0.1', port: 0, services: [repoService(database)] }));
    return {
      addresses: servers.map((s) => `127.0.0.1:${s.port}`),
      close: async () => {
        await Promise.all(servers.map((s) => s.close(1000)));
        await database.close();
      },
    };
  }

  describeStoreContract('gRPC to one repo node', async () => {
    const nodes = await openRepoNodes('one', 1);
    const store = new GrpcStore({ ...CALL_LIMITS, resolve: () => nodes.addresses[0] });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await nodes.close();
      },
    };
  });

  describe('appends of one turn', function () {
    it('travel to their node as one AppendEach, each stored or refused on its own', async function () {
      const nodes = await openRepoNodes('each', 1);
      const store = new GrpcStore({ ...CALL_LIMITS, resolve: () => nodes.addresses[0] });
      try {
        const tag = `each${Date.now().toString(36)}`;
        const owner = { id: `${tag}-u`, username: `${tag}u`, displayName: 'Owner', passwordHash: '$argon2id$x', createdAt: 1 };
        await store.createUser(owner);
        const convs = [0, 1, 2].map((i) => `${tag}-g${i}`);
        for (const id of convs) {
          await store.createGroup({ id, type: 'group', name: id, ownerId: owner.id, lastSeq: 0, memberCount: 0, createdAt: 1 }, [owner.id]);
        }
        const append = (conv: string, seq: number): Promise<void> =>
          store.appendMessages([{ unit: `${tag}-unit`, epoch: 1, messages: [{ conv, seq, id: `${conv}-m${seq}`, from: owner.id, clientId: `${conv}-c${seq}`, body: '{}', ts: seq }] }]);
        // The third skips seq 1: refused with conflict, while the other two are written.
        const results = await Promise.allSettled([append(convs[0]!, 1), append(convs[1]!, 1), append(convs[2]!, 2)]);
        expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected']);
        expect((results[2] as PromiseRejectedResult).reason).to.have.property('code', 'conflict');
        expect(store.appendEachCalls).to.equal(1);
        for (const conv of convs.slice(0, 2)) expect((await store.listMessages(conv, 0, 10)).messages.map((m) => m.seq)).to.deep.equal([1]);
        expect((await store.listMessages(convs[2]!, 0, 10)).messages).to.deep.equal([]);
      } finally {
        await store.close();
        await nodes.close();
      }
    });
  });

  describe('two repo nodes', function () {
    const served = new Map<string, number>();

    describeStoreContract('gRPC to two repo nodes splitting the keys by hash', async () => {
      const nodes = await openRepoNodes('two', 2);
      const store = new GrpcStore({
        ...CALL_LIMITS,
        resolve: (key) => nodes.addresses[createHash('sha1').update(key).digest()[0]! % 2],
        observer: {
          onCall: (target, _method, outcome) => {
            if (outcome === 'ok' || outcome === 'error') served.set(target, (served.get(target) ?? 0) + 1);
          },
          onBreakerState: () => undefined,
        },
      });
      return {
        store,
        cleanup: async () => {
          await store.close();
          await nodes.close();
        },
      };
    });

    describe('routing', function () {
      it('sent the contract calls to both nodes', function () {
        expect([...served.keys()]).to.have.length(2);
        for (const calls of served.values()) expect(calls).to.be.above(20);
      });
    });
  });
});
