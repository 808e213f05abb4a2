/**
 * Repo shard placement (actors/repo/shard-placement.ts) and the routing table that follows it
 * (actors/repo/shard-routes.ts), driven by one suite against the in-process coordinator and
 * against a private etcd: a lone node owns every shard; a joining node takes its rendezvous
 * share only after the old owner flushed it, with newer epochs; a stopped node drains to the
 * others; a node whose lease is lost stops serving and its shards move once the expiry deletes
 * its claims; nodes that join and leave in any order converge with every shard held exactly once.
 */
import { setTimeout as pause } from 'node:timers/promises';
import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import { repoClaimKey, repoClaimsPrefix, repoNodeKey } from '../../../actors/repo/placement-keys.js';
import { idealShards } from '../../../actors/repo/rendezvous.js';
import { ShardPlacement, type ShardPlacementOptions } from '../../../actors/repo/shard-placement.js';
import { ShardRoutes } from '../../../actors/repo/shard-routes.js';
import type { Logger } from '../../../actors/runtime/logger.js';
import { UnitRegistry } from '../../../actors/runtime/unit-registry.js';
import { startEtcd, type EtcdService } from '../../../bin/services/etcd.js';
import { EtcdCoordinator } from '../../../transport/coord/etcd.js';
import { LocalCoordinator } from '../../../transport/coord/local.js';
import type { Coordinator, Lease, Watcher } from '../../../transport/coord/port.js';
import { partitionFor } from '../../../transport/log/partitioner.js';
import { expectTroupeRejection } from '../../support/expect-rejection.js';
import { uniqueName, waitFor } from '../../support/wait-for.js';

/** etcd grants at least 2 s; the in-process coordinator uses the same. */
const TTL_MS = 2000;
const SHARDS = 16;
/** How long a simulated flush takes: long enough for a claim deleted too early to show. */
const FLUSH_MS = 30;
const CLAIM_RETRY_MS = 50;
const WAIT = { timeoutMs: 10_000, intervalMs: 10 };

interface Backend {
  /** A client of the shared store: a new connection for etcd, the one store in-process. */
  connect(): Coordinator;
  /** Makes `lease` lost as if its TTL ran out. */
  expireLease(lease: Lease): Promise<void>;
  /** Closes what `connect()` opened. */
  cleanup(): Promise<void>;
}

/** A logger that keeps error messages, so a spec can tell an expected loss from a silent one. */
function recordingLogger(errors: string[]): Logger {
  const logger: Logger = {
    error: (message) => errors.push(message),
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
    child: () => logger,
  };
  return logger;
}

/**
 * A lease the test can give up on the node's side alone, as EtcdLease does when its renewals go
 * unanswered: `onLost` fires while the keys still exist in the store.
 */
class GivableLease implements Lease {
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly inner: Lease) {}

  get id(): string {
    return this.inner.id;
  }

  get ttlMs(): number {
    return this.inner.ttlMs;
  }

  claim(key: string, value: string): ReturnType<Lease['claim']> {
    return this.inner.claim(key, value);
  }

  put(key: string, value: string): Promise<void> {
    return this.inner.put(key, value);
  }

  release(key: string): Promise<void> {
    return this.inner.release(key);
  }

  onLost(listener: () => void): void {
    this.listeners.push(listener);
    this.inner.onLost(listener);
  }

  revoke(): Promise<void> {
    return this.inner.revoke();
  }

  giveUp(): void {
    for (const listener of this.listeners) listener();
  }
}

interface TestNode {
  id: string;
  address: string;
  coord: Coordinator;
  lease: GivableLease;
  placement: ShardPlacement;
  /** Latest epoch per shard passed to onAcquire. */
  epochs: Map<number, number>;
  acquisitions: number;
  releases: number[];
  errors: string[];
}

function describeShardPlacement(name: string, backendFactory: () => Backend): void {
  describe(`repo shard placement: ${name}`, function () {
    this.timeout(20_000);

    let backend: Backend;
    let cluster: string;
    let nodes: TestNode[];
    let routesOpened: ShardRoutes[];
    let watchers: Watcher[];
    /** Ordered record of flushes (from onRelease) and claim changes (from a watch). */
    let history: string[];
    let overlapSampler: NodeJS.Timeout | undefined;
    let overlaps: string[];

    beforeEach(function () {
      backend = backendFactory();
      cluster = uniqueName('placement');
      nodes = [];
      routesOpened = [];
      watchers = [];
      history = [];
      overlaps = [];
      overlapSampler = undefined;
    });

    afterEach(async function () {
      clearInterval(overlapSampler);
      for (const node of nodes) await node.placement.stop().catch(() => undefined);
      for (const node of nodes) await node.lease.revoke().catch(() => undefined);
      for (const routes of routesOpened) await routes.close();
      for (const watcher of watchers) await watcher.cancel().catch(() => undefined);
      await backend.cleanup();
    });

    async function startNode(id: string, shards = SHARDS, extra: Partial<ShardPlacementOptions> = {}): Promise<TestNode> {
      const coord = backend.connect();
      const lease = new GivableLease(await coord.grantLease(TTL_MS));
      const node: TestNode = {
        id,
        address: `127.0.0.1:${7000 + nodes.length}`,
        coord,
        lease,
        placement: undefined as unknown as ShardPlacement,
        epochs: new Map(),
        acquisitions: 0,
        releases: [],
        errors: [],
      };
      node.placement = new ShardPlacement({
        coord,
        lease,
        cluster,
        nodeId: id,
        address: node.address,
        shards,
        claimRetryMs: CLAIM_RETRY_MS,
        logger: recordingLogger(node.errors),
        onAcquire: (shard, epoch) => {
          node.epochs.set(shard, epoch);
          node.acquisitions++;
        },
        onRelease: async (shard) => {
          node.releases.push(shard);
          history.push(`flushing ${id} ${shard}`);
          await pause(FLUSH_MS); // the flush's own work, not a wait for a condition
          const claim = await coord.get(repoClaimKey(cluster, shard));
          history.push(claim?.leaseId === lease.id ? `flushed ${id} ${shard}` : `flushed WITHOUT CLAIM ${id} ${shard}`);
        },
        ...extra,
      });
      nodes.push(node);
      await node.placement.start();
      return node;
    }

    async function openRoutes(shards = SHARDS): Promise<ShardRoutes> {
      const routes = new ShardRoutes({ coord: backend.connect(), cluster, shards });
      routesOpened.push(routes);
      await routes.start();
      return routes;
    }

    /** Records claim puts and deletes into `history`, in revision order. */
    async function recordClaims(): Promise<void> {
      const coord = backend.connect();
      const prefix = repoClaimsPrefix(cluster);
      watchers.push(
        await coord.watchPrefix(prefix, (event) => {
          if (event.type === 'put') history.push(`claimed ${event.kv.key.slice(prefix.length)} ${JSON.parse(event.kv.value).nodeId}`);
          else history.push(`deleted ${event.key.slice(prefix.length)}`);
        }),
      );
    }

    /** Fails the test (in afterEach's place: at the end of the test) if two nodes ever served one shard. */
    function sampleOverlaps(): void {
      overlapSampler = setInterval(() => {
        const seen = new Map<number, string>();
        for (const node of nodes) {
          for (const shard of node.placement.owned()) {
            const other = seen.get(shard);
            if (other !== undefined) overlaps.push(`shard ${shard} served by ${other} and ${node.id}`);
            seen.set(shard, node.id);
          }
        }
      }, 2);
    }

    /** True when the live nodes serve exactly their rendezvous shards and the store's claims agree. */
    async function converged(live: readonly TestNode[], shards = SHARDS, routes?: ShardRoutes): Promise<boolean> {
      const ids = live.map((node) => node.id);
      for (const node of live) {
        const ideal = idealShards(node.id, ids, shards);
        const owned = [...node.placement.owned()].sort((a, b) => a - b);
        if (JSON.stringify(owned) !== JSON.stringify(ideal)) return false;
      }
      const { kvs } = await live[0]!.coord.getPrefix(repoClaimsPrefix(cluster));
      if (kvs.length !== shards) return false;
      for (const node of live) {
        for (const shard of idealShards(node.id, ids, shards)) {
          const kv = kvs.find((each) => each.key === repoClaimKey(cluster, shard));
          if (kv?.leaseId !== node.lease.id || node.epochs.get(shard) !== kv.createRevision) return false;
          if (routes !== undefined && routes.addressOf(shard) !== node.address) return false;
        }
      }
      return true;
    }

    function expectSingleOwners(live: readonly TestNode[], shards = SHARDS): void {
      const all = live.flatMap((node) => [...node.placement.owned()]).sort((a, b) => a - b);
      expect(all, 'every shard served exactly once').to.deep.equal(Array.from({ length: shards }, (_, i) => i));
    }

    /** Asserts that `from` flushed `shard` while still holding its claim, before the claim was deleted. */
    function expectFlushedBeforeDeleted(from: TestNode, shard: number): void {
      const flushed = history.indexOf(`flushed ${from.id} ${shard}`);
      const deleted = history.indexOf(`deleted ${shard}`, history.indexOf(`flushing ${from.id} ${shard}`));
      expect(flushed, `${from.id} flushed ${shard} holding its claim (${history.join('; ')})`).to.be.at.least(0);
      expect(deleted, `claim of ${shard} deleted after the flush`).to.be.greaterThan(flushed);
    }

    it('lets a lone node claim every shard with the claims as epochs, and routes every key to it', async function () {
      const a = await startNode('repo-a');
      await a.placement.whenReady();
      expect(a.placement.ready()).to.equal(true);
      expect([...a.placement.owned()].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: SHARDS }, (_, i) => i));
      const routes = await openRoutes();
      await routes.whenComplete();
      for (let shard = 0; shard < SHARDS; shard++) {
        const claim = await a.coord.get(repoClaimKey(cluster, shard));
        expect(claim?.createRevision, `epoch of ${shard}`).to.equal(a.epochs.get(shard));
        expect(JSON.parse(claim?.value ?? '{}')).to.deep.equal({ nodeId: 'repo-a', address: a.address });
        expect(routes.ownerOf(shard)).to.deep.equal({ nodeId: 'repo-a', address: a.address, epoch: a.epochs.get(shard) });
      }
      const registration = await a.coord.get(repoNodeKey(cluster, 'repo-a'));
      expect(JSON.parse(registration?.value ?? '{}')).to.deep.equal({ nodeId: 'repo-a', address: a.address });
      expect(registration?.leaseId).to.equal(a.lease.id);
      expect(routes.shardOf('conv-42')).to.equal(partitionFor('conv-42', SHARDS));
      expect(routes.resolve('conv-42')).to.equal(a.address);
      expect(a.errors).to.deep.equal([]);
    });

    it('gives a joining node its rendezvous shards only after the old owner flushed them, with newer epochs', async function () {
      const a = await startNode('repo-a');
      await a.placement.whenReady();
      const routes = await openRoutes();
      await routes.whenComplete();
      const before = new Map(a.epochs);
      await recordClaims();
      sampleOverlaps();

      const b = await startNode('repo-b');
      await waitFor(() => converged([a, b], SHARDS, routes), { ...WAIT, message: 'two nodes converge' });
      await b.placement.whenReady();
      expectSingleOwners([a, b]);
      expect(overlaps).to.deep.equal([]);

      const moved = idealShards('repo-b', ['repo-a', 'repo-b'], SHARDS);
      expect(moved.length).to.be.within(1, SHARDS - 1);
      expect([...a.releases].sort((x, y) => x - y)).to.deep.equal(moved);
      for (const shard of moved) {
        expectFlushedBeforeDeleted(a, shard);
        expect(b.epochs.get(shard), `epoch of ${shard}`).to.be.greaterThan(before.get(shard) ?? Infinity);
        expect(routes.addressOf(shard)).to.equal(b.address);
      }
      for (const shard of idealShards('repo-a', ['repo-a', 'repo-b'], SHARDS)) {
        expect(a.epochs.get(shard), `kept epoch of ${shard}`).to.equal(before.get(shard));
      }
      expect(a.acquisitions).to.equal(SHARDS);
      const key = Array.from({ length: 100 }, (_, i) => `conv-${i}`).find((k) => moved.includes(partitionFor(k, SHARDS)));
      expect(routes.resolve(key as string)).to.equal(b.address);
      expect([...a.errors, ...b.errors]).to.deep.equal([]);
    });

    it('drains a stopped node: it flushes and releases every shard and the other node takes them all', async function () {
      const a = await startNode('repo-a');
      const b = await startNode('repo-b');
      const routes = await openRoutes();
      await waitFor(() => converged([a, b], SHARDS, routes), { ...WAIT, message: 'two nodes converge' });
      const bShards = [...b.placement.owned()].sort((x, y) => x - y);
      const bEpochs = new Map(b.epochs);
      await recordClaims();
      sampleOverlaps();

      await b.placement.stop();
      expect(b.placement.owned().size).to.equal(0);
      expect([...b.releases].sort((x, y) => x - y)).to.deep.equal(bShards);
      expect(await a.coord.get(repoNodeKey(cluster, 'repo-b'))).to.equal(null);
      await waitFor(() => converged([a], SHARDS, routes), { ...WAIT, message: 'the remaining node owns every shard' });
      expect(overlaps).to.deep.equal([]);
      for (const shard of bShards) {
        expectFlushedBeforeDeleted(b, shard);
        expect(a.epochs.get(shard), `epoch of ${shard}`).to.be.greaterThan(bEpochs.get(shard) ?? Infinity);
      }
      await expectTroupeRejection(b.placement.whenReady(), 'closed');
      expect([...a.errors, ...b.errors]).to.deep.equal([]);
    });

    it('stops serving at once when its lease is given up, without flushing, while its claims still exist', async function () {
      const a = await startNode('repo-a');
      const b = await startNode('repo-b');
      await waitFor(() => converged([a, b]), { ...WAIT, message: 'two nodes converge' });
      const bShards = [...b.placement.owned()];
      expect(bShards.length).to.be.above(0);

      b.lease.giveUp();
      expect(b.placement.owned().size).to.equal(0);
      expect(b.placement.ready()).to.equal(false);
      expect(b.errors.some((message) => message.includes('lease lost'))).to.equal(true);
      await expectTroupeRejection(b.placement.whenReady(), 'closed');
      for (const shard of bShards) {
        expect((await a.coord.get(repoClaimKey(cluster, shard)))?.leaseId, `claim of ${shard}`).to.equal(b.lease.id);
      }
      expect(b.releases, 'no flush by a node that lost its lease').to.deep.equal([]);
    });

    it('moves the shards of a node whose lease expired to the other node once the expiry deletes its claims, with newer epochs', async function () {
      const a = await startNode('repo-a');
      const b = await startNode('repo-b');
      const routes = await openRoutes();
      await waitFor(() => converged([a, b], SHARDS, routes), { ...WAIT, message: 'two nodes converge' });
      const bShards = [...b.placement.owned()];
      const bEpochs = new Map(b.epochs);
      await recordClaims();

      await backend.expireLease(b.lease);
      // Nothing but the expiry's deletions can move the shards (b never releases them), and the
      // survivor follows them without waiting for a timer of the TTL's scale: three TTLs leave a
      // loaded machine plenty of room and still fail a node that misses the deletions.
      await waitFor(() => converged([a], SHARDS, routes), { timeoutMs: 3 * TTL_MS, message: 'shards moved after the expiry' });
      for (const shard of bShards) {
        const deleted = history.indexOf(`deleted ${shard}`);
        expect(deleted, `claim of ${shard} deleted by the expiry (${history.join('; ')})`).to.be.at.least(0);
        expect(history.indexOf(`claimed ${shard} repo-a`), `claimed by repo-a after the deletion`).to.be.greaterThan(deleted);
        expect(a.epochs.get(shard), `epoch of ${shard}`).to.be.greaterThan(bEpochs.get(shard) ?? Infinity);
      }
      await waitFor(() => b.errors.some((message) => message.includes('lease lost')), { ...WAIT, message: 'the loss seen' });
      expect(b.placement.owned().size).to.equal(0);
      expect(b.releases, 'no flush by a node that lost its lease').to.deep.equal([]);
      await expectTroupeRejection(b.placement.whenReady(), 'closed');
      expect(a.errors).to.deep.equal([]);
    });

    it('escalates the shards it should own whose claims another node holds for too long, and reports them', async function () {
      let unstick!: () => void;
      const stuck = new Promise<void>((resolve) => (unstick = resolve));
      const a = await startNode('repo-a', SHARDS, { onRelease: () => stuck }); // its flush never ends
      await waitFor(() => a.placement.ready(), { ...WAIT, message: 'repo-a owns every shard' });
      const units = new UnitRegistry();
      const escalations: string[] = [];
      const b = await startNode('repo-b', SHARDS, {
        units,
        lifecycle: { maxClaimWaitMs: 300 },
        onEscalate: (unit, step) => escalations.push(`${unit} ${step}`),
      });
      const expected = idealShards('repo-b', ['repo-a', 'repo-b'], SHARDS).map((shard) => `repo/${shard} claim`);
      try {
        await waitFor(() => escalations.length === expected.length, { ...WAIT, message: 'every shard of repo-b escalated' });
        expect([...escalations].sort()).to.deep.equal([...expected].sort());
        expect(units.ready()).to.equal(false);
        expect(units.problems().every((problem) => /^repo\/\d+ is fenced: claim failed: /.test(problem)), units.problems().join('; ')).to.equal(true);
        expect(b.placement.owned().size).to.equal(0);
      } finally {
        unstick();
      }
    });

    it('registers a running node again when its registration is deleted, keeping its shards', async function () {
      const a = await startNode('repo-a');
      await a.placement.whenReady();
      const key = repoNodeKey(cluster, 'repo-a');
      await a.coord.delete(key);
      await waitFor(async () => (await a.coord.get(key))?.leaseId === a.lease.id, { ...WAIT, message: 'registered again' });
      expect(a.placement.owned().size).to.equal(SHARDS);
      expect(a.acquisitions).to.equal(SHARDS);
    });

    it('converges three nodes started together on 64 shards', async function () {
      const shards = 64;
      const routes = await openRoutes(shards);
      sampleOverlaps();
      const started = await Promise.all(['repo-a', 'repo-b', 'repo-c'].map((id) => startNode(id, shards)));
      await waitFor(() => converged(started, shards, routes), { ...WAIT, message: 'three nodes converge' });
      await Promise.all(started.map((node) => node.placement.whenReady()));
      await routes.whenComplete();
      expectSingleOwners(started, shards);
      expect(overlaps).to.deep.equal([]);
      for (const node of started) expect(node.placement.owned().size, node.id).to.be.within(10, 33);
    });

    it('converges after nodes join and leave at the same time', async function () {
      const routes = await openRoutes();
      sampleOverlaps();
      const a = await startNode('repo-a');
      const b = await startNode('repo-b');
      await waitFor(() => converged([a, b], SHARDS, routes), { ...WAIT, message: 'two nodes converge' });
      const [c, d] = await Promise.all([startNode('repo-c'), startNode('repo-d'), a.placement.stop()]);
      await c.placement.stop();
      await waitFor(() => converged([b, d], SHARDS, routes), { ...WAIT, message: 'the two remaining nodes converge' });
      expectSingleOwners([b, d]);
      expect(overlaps).to.deep.equal([]);
      expect(a.placement.owned().size + c.placement.owned().size).to.equal(0);
    });
  });
}

describeShardPlacement('LocalCoordinator', () => {
  const coord = new LocalCoordinator();
  return {
    connect: () => coord,
    expireLease: async (lease) => coord.expireLease(lease.id),
    cleanup: () => coord.close(),
  };
});

describe('repo shard placement on etcd', function () {
  let etcd: EtcdService | undefined;
  /** Revokes leases behind their owner's back, as etcd does when a TTL runs out. */
  let admin: Etcd3 | undefined;

  before(async function () {
    this.timeout(120_000);
    etcd = await startEtcd();
    admin = new Etcd3({ hosts: etcd.endpoint });
  });

  after(async function () {
    admin?.close();
    await etcd?.stop();
  });

  describeShardPlacement('EtcdCoordinator', () => {
    const opened: EtcdCoordinator[] = [];
    return {
      connect: () => {
        if (etcd === undefined) throw new Error('etcd did not start');
        const coord = new EtcdCoordinator({ endpoints: etcd.endpoint });
        opened.push(coord);
        return coord;
      },
      expireLease: async (lease) => {
        await admin?.leaseClient.leaseRevoke({ ID: lease.id });
      },
      cleanup: async () => {
        for (const coord of opened) await coord.close();
      },
    };
  });
});
