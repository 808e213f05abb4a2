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
