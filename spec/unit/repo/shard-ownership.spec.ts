/**
 * Repo shard ownership, enforced (bin/roles/repo-role.ts, actors/repo/shard-stores.ts): real
 * repo nodes (gRPC servers, shard placement on the in-process coordinator) in front of one SQLite
 * database, called through GrpcStore as gateways and logic nodes call them.
 *
 * - a node refuses a key of a shard it does not own with `not_owner`, before touching the
 *   database, and a caller with a stale route is re-routed to the owner, even for calls that
 *   are not idempotent; a call no owner takes ends in `unavailable` at its deadline;
 * - a hand-off in the middle of traffic loses nothing the callers were told was stored, and no
 *   write of the old owner is committed after one of the new owner's, shard by shard; the shard's
 *   lifecycle shows in each node's unit registry;
 * - an old owner that kept serving after its claim moved (paused) is refused by the database
 *   (`stale_epoch` for its shard's unit) once the new owner wrote, and its caller is re-routed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { start as startActorSystem, stop as stopActor, type Ref } from 'nact';
import { TroupeMetrics } from '../../../actors/metrics.js';
import { repoShardOf, repoShardUnit } from '../../../actors/repo/placement-keys.js';
import { idealShards } from '../../../actors/repo/rendezvous.js';
import { ShardRoutes } from '../../../actors/repo/shard-routes.js';
import { ShardStores } from '../../../actors/repo/shard-stores.js';
import type { Logger } from '../../../actors/runtime/logger.js';
import { UnitRegistry, type UnitState } from '../../../actors/runtime/unit-registry.js';
import { startRepoRole, type RepoRole } from '../../../bin/roles/repo-role.js';
import type { RoleContext } from '../../../bin/roles/role-context.js';
import { loadConfig } from '../../../config/load.js';
import { migrateLatest } from '../../../sql/migrate.js';
import { LocalCoordinator } from '../../../transport/coord/local.js';
import type { Lease } from '../../../transport/coord/port.js';
import { TroupeError } from '../../../transport/errors.js';
import type { RpcOutcome } from '../../../transport/rpc/observer.js';
import { startRpcServer, type RpcServer } from '../../../transport/rpc/server.js';
import { GrpcStore, type GrpcStoreOptions } from '../../../transport/store/grpc.js';
import { repoService } from '../../../transport/store/grpc-service.js';
import { openSqliteStore, type SqliteStore } from '../../../transport/store/sqlite.js';
import { StaleEpochError, type Fence, type FenceableStore, type MessageRow, type Store } from '../../../transport/store/port.js';
import { expectTroupeRejection } from '../../support/expect-rejection.js';
import { uniqueName, waitFor } from '../../support/wait-for.js';

const SHARDS = 8;
const NODES = ['repo-a', 'repo-b'];
/** The upstream unit of the callers' writes: one logic partition, never fenced here. */
const UPSTREAM: Fence = { unit: 'upstream/0', epoch: 1 };
const WAIT = { timeoutMs: 15_000, intervalMs: 5 };
const T0 = 1_764_000_000_000;

/** A logger that keeps error messages (a refusal or a fence the spec did not expect shows). */
function recordingLogger(errors: string[]): Logger {
  const logger: Logger = {
    error: (message, meta) => errors.push(`${message} ${JSON.stringify(meta ?? {})}`),
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
    child: () => logger,
  };
  return logger;
}

/** A unit registry that also keeps every state each unit entered, in order. */
class RecordingUnits extends UnitRegistry {
  readonly history: string[] = [];

  override enter(unit: string, state: UnitState, details: { epoch?: number | null; reason?: string } = {}): void {
    this.history.push(`${unit} ${state}${details.epoch === undefined || details.epoch === null ? '' : ` ${details.epoch}`}`);
    super.enter(unit, state, details);
  }

  /** The states `unit` went through, without epochs. */
  statesOf(unit: string): string[] {
    return this.history.filter((line) => line.startsWith(`${unit} `)).map((line) => line.split(' ')[1] as string);
  }
}

/** One write committed by a repo node's view of the database: which shard epoch carried it. */
interface Committed {
  node: string;
  unit: string;
  epoch: number;
  method: string;
}

const WRITES = new Set([
  'createUser', 'insertRefreshToken', 'rotateRefreshToken', 'revokeRefreshFamily', 'createGroup', 'getOrCreateDirect',
  'addMembers', 'removeMember', 'appendMessages', 'advanceReadSeq',
]);

/**
 * The database as one node sees it: every call of its shard views is counted, and every write
 * they commit is logged (SQLite commits one transaction at a time, in this order).
 */
function observedDatabase(database: SqliteStore, node: string, log: Committed[], calls: Map<string, number>): FenceableStore {
  const observe = (view: FenceableStore, bound: readonly Fence[]): FenceableStore =>
    new Proxy(view, {
      get: (target, name: string) => {
        if (name === 'fencedBy') return (fences: readonly Fence[]) => observe(target.fencedBy(fences), [...bound, ...fences]);
        const value = Reflect.get(target, name) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          calls.set(name, (calls.get(name) ?? 0) + 1);
          const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as unknown;
          if (WRITES.has(name)) for (const fence of bound) log.push({ node, unit: fence.unit, epoch: fence.epoch, method: name });
          return result;
        };
      },
    });
  return observe(database, []);
}

interface RepoNode {
  id: string;
  role: RepoRole;
  units: RecordingUnits;
  lease: Lease;
  errors: string[];
  /** Calls that reached the database through this node, by method. */
  calls: Map<string, number>;
  system: Ref<unknown>;
  stopped: boolean;
}

describe('repo shard ownership', function () {
  this.timeout(60_000);

  let dir: string;
  let database: SqliteStore;
  let coord: LocalCoordinator;
  let cluster: string;
  let nodes: RepoNode[];
  let committed: Committed[];
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'troupe-ownership-'));
    const opened = await openSqliteStore(join(dir, 'troupe.db'));
    await migrateLatest(opened.knex);
    database = opened.store;
    coord = new LocalCoordinator();
    cluster = uniqueName('ownership');
    nodes = [];
    committed = [];
  });

  afterEach(async function () {
    while (cleanups.length > 0) await cleanups.pop()!();
    for (const node of nodes) {
      if (!node.stopped) await node.role.drain().catch(() => undefined);
      await node.lease.revoke().catch(() => undefined);
      stopActor(node.system);
    }
    await coord.close();
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function startNode(id: string): Promise<RepoNode> {
    const config = loadConfig({
      env: {},
      overrides: {
        'node.id': id,
        'node.cluster': cluster,
        'rpc.host': '127.0.0.1',
        'rpc.port': 0,
        'repo.shards': SHARDS,
        'repo.batchMaxDelayMs': 0,
        'shutdown.drainTimeoutMs': 5000,
      },
    });
    const errors: string[] = [];
    const units = new RecordingUnits();
    const system = startActorSystem();
    const ctx: RoleContext = {
      config,
      nodeId: id,
      logger: recordingLogger(errors),
      metrics: new TroupeMetrics({ defaultMetrics: false }),
      system,
      units,
      escalate: (unit, step, error) => errors.push(`escalated ${unit} ${step}: ${error.message}`),
    };
    const lease = await coord.grantLease(10_000);
    const calls = new Map<string, number>();
    const role = await startRepoRole(ctx, { coord, lease, database: observedDatabase(database, id, committed, calls) });
    const node: RepoNode = { id, role, units, lease, errors, calls, system, stopped: false };
    nodes.push(node);
    return node;
  }

  async function openRoutes(): Promise<ShardRoutes> {
    const routes = new ShardRoutes({ coord, cluster, shards: SHARDS });
    await routes.start();
    cleanups.push(() => routes.close());
    return routes;
  }

  function client(options: Partial<GrpcStoreOptions> & Pick<GrpcStoreOptions, 'resolve'>): GrpcStore {
    const store = new GrpcStore({ deadlineMs: 3000, attempts: 3, breakerFailures: 50, breakerHalfOpenMs: 1000, ...options });
    cleanups.push(() => store.close());
    return store;
  }

  /** A client that routes as a cluster node does: by the claims, waiting for moves after `not_owner`. */
  function routedClient(routes: ShardRoutes, outcomes?: Array<[string, RpcOutcome]>): GrpcStore {
    return client({
      resolve: (key) => routes.resolve(key),
      routeMoved: (key, refused, withinMs) => routes.whenMoved(key, refused, withinMs),
      ...(outcomes === undefined ? {} : { observer: { onCall: (target, _method, outcome) => outcomes.push([target, outcome]), onBreakerState: () => undefined } }),
    });
  }

  /** Every live node serves exactly its rendezvous shards, and the routes name them. */
  function converged(live: readonly RepoNode[], routes: ShardRoutes): boolean {
    const ids = live.map((node) => node.id);
    for (const node of live) {
      const ideal = idealShards(node.id, ids, SHARDS);
      const owned = [...node.role.placement.owned()].sort((a, b) => a - b);
      if (JSON.stringify(owned) !== JSON.stringify(ideal)) return false;
      for (const shard of ideal) if (routes.addressOf(shard) !== node.role.address) return false;
    }
    return true;
  }

  /** `count` ids (of `tag`) whose shard is among `shards`. */
  function keysIn(shards: readonly number[], count: number, tag: string): string[] {
    const keys: string[] = [];
    for (let i = 0; keys.length < count; i++) {
      const key = `g_${tag}_${i}`;
      if (shards.includes(repoShardOf(key, SHARDS))) keys.push(key);
    }
    return keys;
  }

  async function seedGroup(id: string): Promise<string> {
    const owner = `u_${id}`;
    await database.createUser({ id: owner, username: `n${id}`.replace(/[^a-z0-9]/gi, ''), displayName: owner, passwordHash: 'h', createdAt: T0 });
    await database.createGroup({ id, type: 'group', name: id, ownerId: owner, lastSeq: 0, memberCount: 1, createdAt: T0 }, [owner]);
    return owner;
  }

  function message(conv: string, seq: number, from: string): MessageRow {
    return { conv, seq, id: `m_${conv}_${seq}`, from, clientId: `c${seq}`, body: '{"text":"hi"}', ts: T0 + seq };
  }

  it('refuses a key of a shard it does not own with not_owner before touching the database, and re-routes a stale caller to the owner', async function () {
    const a = await startNode('repo-a');
    const b = await startNode('repo-b');
    const routes = await openRoutes();
    await waitFor(() => converged([a, b], routes), { ...WAIT, message: 'two nodes converge' });
    const [conv] = keysIn(idealShards('repo-b', NODES, SHARDS), 1, 'stale');
    const owner = await seedGroup(conv!);
    const [newcomer] = keysIn([0, 1, 2, 3, 4, 5, 6, 7], 1, 'newcomer');
    await database.createUser({ id: newcomer!, username: 'newcomer', displayName: 'n', passwordHash: 'h', createdAt: T0 });

    const refusal = (() => {
      try {
        a.role.shards.forKey(conv!);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refusal).to.be.instanceOf(TroupeError).with.property('code', 'not_owner');
    expect((refusal as TroupeError).retriable).to.equal(true);

    // A caller whose route still names repo-a for each call's first attempt (its watch lags).
    const outcomes: Array<[string, RpcOutcome]> = [];
    let stale = true;
    const store = client({
      resolve: (key) => {
        if (!stale) return routes.resolve(key);
        stale = false;
        return a.role.address;
      },
      observer: { onCall: (target, _method, outcome) => outcomes.push([target, outcome]), onBreakerState: () => undefined },
    });
    const aBefore = new Map(a.calls);
    // Neither call is idempotent: a refusal guarantees nothing was done, so both are sent again.
    await store.appendMessages([{ ...UPSTREAM, messages: [message(conv!, 1, owner)] }]);
    stale = true;
    expect(await store.addMembers(conv!, [newcomer!], T0, UPSTREAM)).to.deep.equal([newcomer]);
    expect(outcomes).to.deep.equal([
      [a.role.address, 'error'],
      [b.role.address, 'ok'],
      [a.role.address, 'error'],
      [b.role.address, 'ok'],
    ]);
    expect(a.calls, 'the refusing node did not touch the database').to.deep.equal(aBefore);
    expect((await database.listMessages(conv!, 0, 10)).messages.map((m) => m.seq)).to.deep.equal([1]);
    expect((await database.getMembers(conv!)).map((m) => m.userId)).to.deep.equal([owner, newcomer]);
    expect([...a.errors, ...b.errors]).to.deep.equal([]);
  });

  it('refuses every key at once when its lease is lost, though it never handed its shards off; the survivor takes them', async function () {
    const a = await startNode('repo-a');
    const b = await startNode('repo-b');
    const routes = await openRoutes();
    await waitFor(() => converged([a, b], routes), { ...WAIT, message: 'two nodes converge' });
    const [conv] = keysIn(idealShards('repo-b', NODES, SHARDS), 1, 'lost');
    const owner = await seedGroup(conv!);
    expect(b.role.shards.forKey(conv!)).to.not.equal(undefined);

    await coord.expireLease(b.lease.id);
    const refusal = (() => {
      try {
        b.role.shards.forKey(conv!);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refusal, 'refused as soon as the loss is known').to.be.instanceOf(TroupeError).with.property('code', 'not_owner');
    const store = routedClient(routes);
    await waitFor(() => converged([a], routes), { ...WAIT, message: 'repo-a takes the shards over' });
    await store.appendMessages([{ ...UPSTREAM, messages: [message(conv!, 1, owner)] }]);
    expect((await database.getConversation(conv!))?.lastSeq).to.equal(1);
    for (const shard of idealShards('repo-b', NODES, SHARDS)) {
      expect(b.units.stateOf(repoShardUnit(shard)), `repo-b ${shard}`).to.equal('fenced');
    }
  });

  it('ends a call that no owner takes in unavailable once its deadline passes, without doing it', async function () {
    const a = await startNode('repo-a');
    const b = await startNode('repo-b');
    const routes = await openRoutes();
    await waitFor(() => converged([a, b], routes), { ...WAIT, message: 'two nodes converge' });
    const [conv] = keysIn(idealShards('repo-b', NODES, SHARDS), 1, 'nowhere');
    const owner = await seedGroup(conv!);
    const deadlineMs = 300;
    const store = client({ resolve: () => a.role.address, deadlineMs });
    const started = performance.now();
    const err = await expectTroupeRejection(store.appendMessages([{ ...UPSTREAM, messages: [message(conv!, 1, owner)] }]), 'unavailable');
    const elapsed = performance.now() - started;
    expect(err.retriable).to.equal(true);
    expect(elapsed, 'ended by the deadline').to.be.at.least(deadlineMs - 10).and.below(deadlineMs * 10);
    expect((await database.getConversation(conv!))?.lastSeq).to.equal(0);
  });

  it("hands a shard off in the middle of traffic: nothing acknowledged is lost, and no old owner's write is committed after the new owner's", async function () {
    const a = await startNode('repo-a');
    const routes = await openRoutes();
    await waitFor(() => converged([a], routes), { ...WAIT, message: 'repo-a owns every shard' });
    const moving = idealShards('repo-b', NODES, SHARDS);
    const convs = [...keysIn(moving, 4, 'moving'), ...keysIn(idealShards('repo-a', NODES, SHARDS), 2, 'staying')];
    const owners = await Promise.all(convs.map((conv) => seedGroup(conv)));
    const store = routedClient(routes);

    // One writer per conversation, as its conversation actor writes: the next seq once the
    // previous write is acknowledged, then the writer's read cursor (a fenced write as well).
    const acked = new Map<string, number>(convs.map((conv) => [conv, 0]));
    const failures: string[] = [];
    let running = true;
    const writers = convs.map(async (conv, i) => {
      const owner = owners[i]!;
      for (let seq = 1; running; seq++) {
        try {
          await store.appendMessages([{ ...UPSTREAM, messages: [message(conv, seq, owner)] }]);
          acked.set(conv, seq);
          await store.advanceReadSeq(conv, owner, seq, UPSTREAM);
        } catch (err) {
          failures.push(`${conv} seq ${seq}: ${String(err)}`);
          return;
        }
      }
    });
    const total = (): number => [...acked.values()].reduce((sum, n) => sum + n, 0);
    try {
      await waitFor(() => total() >= 40, { ...WAIT, message: 'traffic before the hand-off' });
      const b = await startNode('repo-b');
      await waitFor(() => converged([a, b], routes), { ...WAIT, message: 'the moving shards reach repo-b' });
      const atHandOff = total();
      await waitFor(() => total() >= atHandOff + 40 && convs.every((conv) => (acked.get(conv) ?? 0) >= 5), { ...WAIT, message: 'traffic after the hand-off' });
    } finally {
      running = false;
      await Promise.all(writers);
    }
    expect(failures, 'no caller saw a failure across the hand-off').to.deep.equal([]);

    for (const [i, conv] of convs.entries()) {
      const stored = (await database.listMessages(conv, 0, 10_000)).messages.map((m) => m.seq);
      const count = acked.get(conv)!;
      expect(stored, `every acknowledged message of ${conv}, once, in order`).to.deep.equal(Array.from({ length: count }, (_, k) => k + 1));
      expect((await database.getMember(conv, owners[i]!))?.readSeq, `cursor of ${conv}`).to.equal(count);
    }

    const b = nodes[1]!;
    for (const shard of moving) {
      const unit = repoShardUnit(shard);
      const epochs = committed.filter((c) => c.unit === unit).map((c) => c.epoch);
      for (let k = 1; k < epochs.length; k++) {
        expect(epochs[k], `${unit}: a write at epoch ${epochs[k]} committed after one at ${epochs[k - 1]}`).to.be.at.least(epochs[k - 1]!);
      }
      const newEpoch = b.units.snapshot().find((s) => s.unit === unit)?.epoch;
      expect(committed.some((c) => c.unit === unit && c.node === 'repo-a'), `repo-a wrote ${unit}`).to.equal(true);
      expect(committed.some((c) => c.unit === unit && c.node === 'repo-b' && c.epoch === newEpoch), `repo-b wrote ${unit} at its epoch`).to.equal(true);
    }
    expect([...a.errors, ...b.errors]).to.deep.equal([]);
  });

  it("reports each shard's lifecycle in the node's unit registry: claiming, hosted with its epoch, draining for the hand-off, then gone", async function () {
    const a = await startNode('repo-a');
    const routes = await openRoutes();
    await waitFor(() => converged([a], routes), { ...WAIT, message: 'repo-a owns every shard' });
    for (let shard = 0; shard < SHARDS; shard++) {
      expect(a.units.statesOf(repoShardUnit(shard)), `repo-a ${shard}`).to.deep.equal(['claiming', 'hosted']);
      const status = a.units.snapshot().find((s) => s.unit === repoShardUnit(shard));
      expect(status?.state).to.equal('hosted');
      expect(status?.epoch).to.equal(routes.ownerOf(shard)?.epoch);
    }

    const b = await startNode('repo-b');
    await waitFor(() => converged([a, b], routes), { ...WAIT, message: 'two nodes converge' });
    for (const shard of idealShards('repo-b', NODES, SHARDS)) {
      const unit = repoShardUnit(shard);
      expect(a.units.statesOf(unit), `repo-a ${unit}`).to.deep.equal(['claiming', 'hosted', 'draining', 'released']);
      expect(a.units.stateOf(unit)).to.equal(undefined);
      expect(b.units.statesOf(unit), `repo-b ${unit}`).to.deep.equal(['claiming', 'hosted']);
      expect(b.units.snapshot().find((s) => s.unit === unit)?.epoch).to.equal(routes.ownerOf(shard)?.epoch);
    }
    for (const shard of idealShards('repo-a', NODES, SHARDS)) expect(a.units.stateOf(repoShardUnit(shard))).to.equal('hosted');
    expect(a.units.ready() && b.units.ready()).to.equal(true);

    b.stopped = true;
    await b.role.drain();
    for (const shard of idealShards('repo-b', NODES, SHARDS)) expect(b.units.stateOf(repoShardUnit(shard)), `repo-b ${shard} after its drain`).to.equal(undefined);
    await waitFor(() => converged([a], routes), { ...WAIT, message: 'repo-a takes every shard back' });
    expect([...a.errors, ...b.errors]).to.deep.equal([]);
  });

  describe('a paused old owner', function () {
    const servers: RpcServer[] = [];

    afterEach(async function () {
      for (const server of servers.splice(0)) await server.close(200);
    });

    /** A node that serves `shard` whatever happens to its claim: its owned set never changes. */
    async function pausedNode(id: string, shard: number, onFenced: (err: StaleEpochError) => void, calls: Map<string, number>): Promise<{ shards: ShardStores; address: string; metrics: TroupeMetrics }> {
      const metrics = new TroupeMetrics({ defaultMetrics: false });
      const shards = new ShardStores({
        metrics,
        database: observedDatabase(database, id, committed, calls),
        shards: SHARDS,
        owned: () => new Set([shard]),
        nodeId: id,
        batchMaxRows: 500,
        batchMaxDelayMs: 0,
        drainTimeoutMs: 1000,
        logger: recordingLogger([]),
        onFenced: (_shard, _epoch, err) => onFenced(err),
      });
      const server = await startRpcServer({ host: '127.0.0.1', port: 0, services: [repoService((key) => shards.forKey(key))] });
      servers.push(server);
      return { shards, address: `127.0.0.1:${server.port}`, metrics };
    }

    async function refused(node: { metrics: TroupeMetrics }, unit: string): Promise<number> {
      return (await node.metrics.writesRefused.get()).values.find((v) => v.labels.unit === unit)?.value ?? 0;
    }

    it('gets stale_epoch from the database once the new owner wrote; its caller is re-routed and nothing of it is committed', async function () {
      const [conv] = keysIn([3], 1, 'paused');
      const shard = repoShardOf(conv!, SHARDS);
      const owner = await seedGroup(conv!);
      const fences: StaleEpochError[] = [];
      const oldCalls = new Map<string, number>();
      const old = await pausedNode('repo-old', shard, (err) => fences.push(err), oldCalls);
      const fresh = await pausedNode('repo-new', shard, () => expect.fail('the new owner is never fenced'), new Map());

      old.shards.acquire(shard, 10);
      await old.shards.forKey(conv!).appendMessages([{ ...UPSTREAM, messages: [message(conv!, 1, owner)] }]);
      // The claim moved (epoch 20) while the old owner was paused; the new owner writes.
      fresh.shards.acquire(shard, 20);
      await fresh.shards.forKey(conv!).appendMessages([{ ...UPSTREAM, messages: [message(conv!, 2, owner)] }]);

      // The old owner wakes up still believing it owns the shard, and a caller's stale route sends it a write.
      let routedToOld = true;
      const outcomes: Array<[string, RpcOutcome]> = [];
      const store = client({
        resolve: () => (routedToOld ? old.address : fresh.address),
        routeMoved: async () => {
          routedToOld = false; // the caller's watch catches up with the claim
        },
        observer: { onCall: (target, _method, outcome) => outcomes.push([target, outcome]), onBreakerState: () => undefined },
      });
      await store.appendMessages([{ ...UPSTREAM, messages: [message(conv!, 3, owner)] }]);
      expect(outcomes).to.deep.equal([
        [old.address, 'error'],
        [fresh.address, 'ok'],
      ]);

      expect(fences, 'the database refused the old epoch').to.have.length(1);
      expect(fences[0]!.code).to.equal('stale_epoch');
      expect(fences[0]).to.include({ unit: repoShardUnit(shard), epoch: 10, newest: 20 });
      expect(await refused(old, 'repo'), 'counted as a refused write').to.equal(1);
      expect(await refused(fresh, 'repo')).to.equal(0);
      expect((await database.listMessages(conv!, 0, 10)).messages.map((m) => m.seq)).to.deep.equal([1, 2, 3]);
      const epochs = committed.filter((c) => c.unit === repoShardUnit(shard)).map((c) => `${c.node}@${c.epoch}`);
      expect(epochs.slice(-2), 'nothing of the old owner after the new owner wrote').to.deep.equal(['repo-new@20', 'repo-new@20']);
      expect(epochs.filter((e) => e === 'repo-old@10').length).to.be.at.least(1);

      // Fenced, it stops serving the shard: its next call is refused before the database.
      const before = new Map(oldCalls);
      await expectTroupeRejection(
        (async () => old.shards.forKey(conv!).advanceReadSeq(conv!, owner, 1, UPSTREAM))(),
        'not_owner',
      );
      expect(oldCalls).to.deep.equal(before);
      expect((await database.getMember(conv!, owner))?.readSeq).to.equal(0);
    });

    it("keeps the caller's own stale epoch a stale_epoch: only the shard's own refusal becomes not_owner", async function () {
      const [conv] = keysIn([5], 1, 'caller');
      const shard = repoShardOf(conv!, SHARDS);
      const owner = await seedGroup(conv!);
      const node = await pausedNode('repo-one', shard, () => expect.fail('the node itself is not fenced'), new Map());
      node.shards.acquire(shard, 7);
      const upstream = { unit: `upstream/${uniqueName('p')}`, epoch: 5 };
      await database.appendMessages([{ unit: upstream.unit, epoch: 6, messages: [] }]); // a newer logic owner wrote
      const store: Store = client({ resolve: () => node.address });
      await expectTroupeRejection(store.advanceReadSeq(conv!, owner, 1, upstream), 'stale_epoch');
      await expectTroupeRejection(store.appendMessages([{ ...upstream, messages: [message(conv!, 1, owner)] }]), 'stale_epoch');
      expect(await refused(node, 'upstream'), 'both refusals counted').to.equal(2);
      expect((await database.getConversation(conv!))?.lastSeq).to.equal(0);
      expect(node.shards.forKey(conv!)).to.not.equal(undefined);
    });
  });
});
