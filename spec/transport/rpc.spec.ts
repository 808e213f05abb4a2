/**
 * Role-to-role calls (transport/rpc/): deadlines, retries only of idempotent calls, the circuit
 * breaker per target, TroupeErrors across the wire, the standard health service and trace
 * context in metadata. The repo service stands in for every service: GrpcStore calls it, and a
 * scripted Store behind it plays the database.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { type Context, type ContextManager, context, createContextKey, propagation, ROOT_CONTEXT, type TextMapPropagator } from '@opentelemetry/api';
import { expect } from 'chai';
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
} from '../../proto/gen/grpc/health/v1/health.js';
import { TroupeError } from '../../transport/errors.js';
import type { BreakerState, RpcOutcome } from '../../transport/rpc/observer.js';
import { type RpcLogger, type RpcServer, startRpcServer } from '../../transport/rpc/server.js';
import { GrpcStore, type GrpcStoreOptions } from '../../transport/store/grpc.js';
import { repoService } from '../../transport/store/grpc-service.js';
import type { ConversationRow, MessageRow, RefreshTokenRow, Store, UserRow } from '../../transport/store/port.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { waitFor } from '../support/wait-for.js';

const USER: UserRow = { id: 'u1', username: 'ada', displayName: 'Ada', passwordHash: 'h', createdAt: 1 };
const TOKEN: RefreshTokenRow = { tokenHash: 'ab', userId: 'u1', familyId: 'f1', expiresAt: 2, usedAt: null, revoked: false };
const GROUP: ConversationRow = { id: 'g1', type: 'group', name: 'g', ownerId: 'u1', lastSeq: 0, memberCount: 1, createdAt: 3 };
const MESSAGE: MessageRow = { conv: 'g1', seq: 1, id: 'm1', from: 'u1', clientId: 'c1', body: '{}', ts: 4 };
const FENCE = { unit: 'upstream/0', epoch: 1 };

type Method = (...args: never[]) => Promise<unknown>;

/**
 * How much earlier than its delay, by performance.now(), a timer may fire: Node counts timers
 * from the event loop's cached clock, which is stale by however long the loop's current turn has
 * run (tens of ms on a loaded machine).
 */
const TIMER_SLACK_MS = 50;

/** A Store whose methods do what the test says, counting calls per method. */
function scriptedStore(methods: Partial<Record<keyof Store, Method>>, otherwise?: () => Promise<unknown>): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const store = new Proxy({} as Store, {
    get: (_target, name: string) =>
      (...args: never[]): Promise<unknown> => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        const method = methods[name as keyof Store];
        if (method !== undefined) return method(...args);
        return otherwise?.() ?? Promise.reject(new TroupeError('internal', `${name} is not scripted`));
      },
  });
  return { store, calls };
}

/** What an observer saw, in order. */
function recordingObserver(): { states: Array<[string, BreakerState]>; outcomes: RpcOutcome[]; observer: NonNullable<GrpcStoreOptions['observer']> } {
  const states: Array<[string, BreakerState]> = [];
  const outcomes: RpcOutcome[] = [];
  return {
    states,
    outcomes,
    observer: { onCall: (_target, _method, outcome) => outcomes.push(outcome), onBreakerState: (target, state) => states.push([target, state]) },
  };
}

async function elapsedOf(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await promise.then(() => undefined, (err: unknown) => err);
  return { ms: performance.now() - started, error };
}

describe('gRPC between roles', function () {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async function () {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function serve(store: Store, port = 0, logger?: RpcLogger): Promise<RpcServer> {
    const server = await startRpcServer({ host: '127.0.0.1', port, services: [repoService(store)], ...(logger ? { logger } : {}) });
    cleanups.push(() => server.close(200));
    return server;
  }

  function client(options: Partial<GrpcStoreOptions> & Pick<GrpcStoreOptions, 'resolve'>): GrpcStore {
    const store = new GrpcStore({ deadlineMs: 2000, attempts: 3, breakerFailures: 50, breakerHalfOpenMs: 1000, ...options });
    cleanups.push(() => store.close());
    return store;
  }

  /** A TCP port that accepts connections and never answers: a hung node. */
  async function silentTarget(): Promise<string> {
    const sockets = new Set<Socket>();
    const server: NetServer = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return `127.0.0.1:${address.port}`;
  }

  describe('deadlines and retries', function () {
    it('fails a call that outlives its deadline with unavailable when the deadline passes, and does not send it again', async function () {
      const deadlineMs = 200;
      let release: () => void = () => undefined;
      const stuck = new Promise<null>((resolve) => (release = () => resolve(null)));
      const { store: database, calls } = scriptedStore({ getUser: () => stuck });
      const server = await serve(database);
      cleanups.push(async () => release());
      const store = client({ resolve: () => `127.0.0.1:${server.port}`, deadlineMs });
      await store.ping().catch(() => undefined); // connect first, so the deadline measures the call only

      // The server never answers, so only the deadline can end the call: not before it, and
      // within a bound far above it that still shows the deadline, not some other timeout, ended
      // it (a loaded CI runner adds event-loop lag after the deadline).
      const { ms, error } = await elapsedOf(store.getUser('u1'));
      expect(error).to.be.instanceOf(TroupeError).with.property('code', 'unavailable');
      expect((error as TroupeError).retriable).to.equal(true);
      expect(ms).to.be.at.least(deadlineMs - TIMER_SLACK_MS).and.below(deadlineMs * 10);
      // The deadline covers the retries too: a call out of time is not sent again.
      expect(calls.get('getUser')).to.equal(1);
    });

    it('sends calls that are not idempotent exactly once and retries idempotent ones after unavailable', async function () {
      const { store: database, calls } = scriptedStore({}, () => Promise.reject(new TroupeError('unavailable', 'database down')));
      const server = await serve(database);
      // The database's `unavailable` counts against the breaker too: keep it out of the way here.
      const store = client({ resolve: () => `127.0.0.1:${server.port}`, attempts: 3, deadlineMs: 5000, breakerFailures: 1000 });
      const once: Array<[keyof Store, () => Promise<unknown>]> = [
        ['createUser', () => store.createUser(USER)],
        ['insertRefreshToken', () => store.insertRefreshToken(TOKEN)],
        ['rotateRefreshToken', () => store.rotateRefreshToken('ab', 5, TOKEN)],
        ['createGroup', () => store.createGroup(GROUP, ['u1'])],
        ['addMembers', () => store.addMembers('g1', ['u2'], 5, FENCE)],
        ['removeMember', () => store.removeMember('g1', 'u2', FENCE)],
        ['appendMessages', () => store.appendMessages([{ unit: 'upstream/0', epoch: 1, messages: [MESSAGE] }])],
      ];
      const retried: Array<[keyof Store, () => Promise<unknown>]> = [
        ['getUser', () => store.getUser('u1')],
        ['getUserByUsername', () => store.getUserByUsername('ada')],
        ['getUsers', () => store.getUsers(['u1'])],
        ['getRefreshToken', () => store.getRefreshToken('ab')],
        ['revokeRefreshFamily', () => store.revokeRefreshFamily('f1')],
        ['getOrCreateDirect', () => store.getOrCreateDirect('d1', 'u1', 'u2', 5)],
        ['getConversation', () => store.getConversation('g1')],
        ['getMembers', () => store.getMembers('g1')],
        ['getMember', () => store.getMember('g1', 'u1')],
        ['listMembers', () => store.listMembers('g1', '', 10)],
        ['listMemberships', () => store.listMemberships('u1')],
        ['directPeers', () => store.directPeers('u1')],
        ['listMessages', () => store.listMessages('g1', 0, 10)],
        ['findByClientIds', () => store.findByClientIds('g1', [{ from: 'u1', clientId: 'c1' }])],
        ['advanceReadSeq', () => store.advanceReadSeq('g1', 'u1', 1, FENCE)],
        ['ping', () => store.ping()],
      ];
      await Promise.all([...once, ...retried].map(([, call]) => expectTroupeRejection(call(), 'unavailable')));
      for (const [name] of once) expect(calls.get(name), name).to.equal(1);
      for (const [name] of retried) expect(calls.get(name), name).to.equal(3);
    });

    it('answers an idempotent call once a retry gets through', async function () {
      let failures = 1;
      const { store: database, calls } = scriptedStore({
        getUser: async () => {
          if (failures-- > 0) throw new TroupeError('unavailable', 'database restarting');
          return USER;
        },
      });
      const server = await serve(database);
      const store = client({ resolve: () => `127.0.0.1:${server.port}` });
      expect(await store.getUser('u1')).to.deep.equal(USER);
      expect(calls.get('getUser')).to.equal(2);
    });
  });

  describe('errors across the wire', function () {
    it('rebuilds the TroupeError the server threw, code, message and retry hints, without its stack', async function () {
      const { store: database } = scriptedStore({
        getUser: () => Promise.reject(new TroupeError('not_found', 'no user u1')),
        getConversation: () => Promise.reject(new TroupeError('stale_epoch', 'epoch 4 is older than 5')),
        getMembers: () => Promise.reject(new TroupeError('rate_limited', 'slow down', { retryAfterMs: 1500 })),
        getMember: () => Promise.reject(new Error('boom')),
        createUser: () => Promise.reject(new TroupeError('conflict', 'username ada is taken')),
        directPeers: () => Promise.reject(new TroupeError('closed', 'store closed')),
      });
      const warnings: Array<Record<string, unknown> | undefined> = [];
      const server = await serve(database, 0, { warn: (_message, meta) => warnings.push(meta) });
      const store = client({ resolve: () => `127.0.0.1:${server.port}`, attempts: 1 });

      const notFound = await expectTroupeRejection(store.getUser('u1'), 'not_found');
      expect(notFound.message).to.equal('no user u1');
      const stale = await expectTroupeRejection(store.getConversation('g1'), 'stale_epoch');
      expect(stale.message).to.equal('epoch 4 is older than 5');
      expect(stale.retriable).to.equal(false);
      const limited = await expectTroupeRejection(store.getMembers('g1'), 'rate_limited');
      expect(limited.retryAfterMs).to.equal(1500);
      const bug = await expectTroupeRejection(store.getMember('g1', 'u1'), 'internal');
      expect(bug.message).to.equal('boom');
      const conflict = await expectTroupeRejection(store.createUser(USER), 'conflict');
      expect(conflict.message).to.equal('username ada is taken');
      // A server whose store is closed is shutting down: for the caller that is `unavailable`.
      expect((await expectTroupeRejection(store.directPeers('u1'), 'unavailable')).retriable).to.equal(true);
      // Only the bug is logged on the server; answers the port promises are not.
      expect(warnings).to.deep.equal([{ method: '/troupe.v1.Repo/GetMember', error: 'boom' }]);
    });

    it('fails later calls with closed after close()', async function () {
      const { store: database } = scriptedStore({ ping: async () => undefined });
      const server = await serve(database);
      const store = client({ resolve: () => `127.0.0.1:${server.port}` });
      await store.ping();
      await store.close();
      await expectTroupeRejection(store.ping(), 'closed');
    });

    it('fails with unavailable when no repo node owns the key, without any call', async function () {
      const seen = recordingObserver();
      const store = client({ resolve: () => undefined, attempts: 1, observer: seen.observer });
      const err = await expectTroupeRejection(store.getConversation('g1'), 'unavailable');
      expect(err.message).to.include('g1');
      expect(seen.outcomes).to.deep.equal([]);
    });
  });

  describe('circuit breaker', function () {
    it('opens after the set number of failures to a hung node, then refuses at once, leaving other nodes alone', async function () {
      // Each call to the hung node fails only when this deadline passes; a refusal of the open
      // breaker must come without waiting for it. The deadline is long enough that "well under
      // it" holds on a loaded machine, short enough that three of them fit the test's time.
      const deadlineMs = 1000;
      const dead = await silentTarget();
      const { store: database } = scriptedStore({ getUser: async () => USER });
      const live = await serve(database);
      const seen = recordingObserver();
      const store = client({
        resolve: (key) => (key.startsWith('dead') ? dead : `127.0.0.1:${live.port}`),
        deadlineMs,
        attempts: 1,
        breakerFailures: 3,
        breakerHalfOpenMs: 60_000,
        observer: seen.observer,
      });

      const attempts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { ms, error } = await elapsedOf(store.getUser(`dead-${i}`));
        expect(error).to.be.instanceOf(TroupeError).with.property('code', 'unavailable');
        attempts.push(ms);
      }
      expect(seen.states).to.deep.include([dead, 'open']);
      const refused = await elapsedOf(store.getUser('dead-3'));
      expect(refused.error).to.be.instanceOf(TroupeError).with.property('code', 'unavailable');
      expect((refused.error as TroupeError).message).to.include('circuit breaker open');
      expect(seen.outcomes).to.deep.equal(['unavailable', 'unavailable', 'unavailable', 'breaker_open']);
      // The failures waited for the deadline (the node is hung); the refusal did not.
      for (const ms of attempts) expect(ms).to.be.at.least(deadlineMs - TIMER_SLACK_MS);
      expect(refused.ms).to.be.below(deadlineMs / 2);

      expect(await store.getUser('live')).to.deep.equal(USER);
    });

    it('half-opens after the set delay and closes again once the node is back', async function () {
      const { store: database } = scriptedStore({ ping: async () => undefined });
      const first = await serve(database);
      const port = first.port;
      await first.close(0);
      const seen = recordingObserver();
      const target = `127.0.0.1:${port}`;
      // The third call below must come before the breaker half-opens: the delay is far longer
      // than the two calls take even on a loaded machine, and the test waits for it only once.
      const store = client({ resolve: () => target, deadlineMs: 500, attempts: 1, breakerFailures: 2, breakerHalfOpenMs: 1000, observer: seen.observer });

      await expectTroupeRejection(store.ping(), 'unavailable');
      await expectTroupeRejection(store.ping(), 'unavailable');
      expect(seen.states.map(([, state]) => state)).to.deep.equal(['closed', 'open']);
      await expectTroupeRejection(store.ping(), 'unavailable');
      expect(seen.outcomes.at(-1)).to.equal('breaker_open');

      await serve(database, port);
      await waitFor(() => store.ping().then(() => true, () => false), { message: 'the breaker to let calls through again' });
      const states = seen.states.map(([, state]) => state);
      expect(states.slice(-2)).to.deep.equal(['half_open', 'closed']);
      await store.ping();
    });

    it('does not count errors the server answered: a healthy server that says conflict keeps the breaker closed', async function () {
      const { store: database, calls } = scriptedStore({ createUser: () => Promise.reject(new TroupeError('conflict', 'username ada is taken')) });
      const server = await serve(database);
      const seen = recordingObserver();
      const store = client({ resolve: () => `127.0.0.1:${server.port}`, breakerFailures: 2, observer: seen.observer });
      for (let i = 0; i < 5; i++) {
        const err = await expectTroupeRejection(store.createUser(USER), 'conflict');
        expect(err.message).to.equal('username ada is taken');
      }
      expect(calls.get('createUser')).to.equal(5);
      expect(seen.outcomes).to.deep.equal(['error', 'error', 'error', 'error', 'error']);
      expect(seen.states.map(([, state]) => state)).to.deep.equal(['closed']);
    });
  });

  describe('health service', function () {
    it('answers SERVING for the server and its services, and NOT_SERVING after setServing(false)', async function () {
      const { store: database } = scriptedStore({});
      const server = await serve(database);
      const health = new HealthClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
      cleanups.push(async () => health.close());
      const check = (service: string): Promise<ServingStatus> =>
        new Promise((resolve, reject) => health.check({ service }, (err: ServiceError | null, res: HealthCheckResponse) => (err ? reject(err) : resolve(res.status))));

      expect(await check('')).to.equal(ServingStatus.SERVING);
      expect(await check('troupe.v1.Repo')).to.equal(ServingStatus.SERVING);
      const unknown = await check('troupe.v1.Nothing').then(() => null, (err: ServiceError) => err.code);
      expect(unknown).to.equal(Status.NOT_FOUND);

      const watched: ServingStatus[] = [];
      const watch = health.watch({ service: 'troupe.v1.Repo' });
      watch.on('data', (res: HealthCheckResponse) => watched.push(res.status));
      watch.on('error', () => undefined); // cancelled below
      cleanups.push(async () => watch.cancel());
      await waitFor(() => watched.length === 1);

      server.setServing(false);
      expect(await check('')).to.equal(ServingStatus.NOT_SERVING);
      expect(await check('troupe.v1.Repo')).to.equal(ServingStatus.NOT_SERVING);
      await waitFor(() => watched.length === 2);
      expect(watched).to.deep.equal([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);

      server.setServing(true);
      expect(await check('troupe.v1.Repo')).to.equal(ServingStatus.SERVING);
    });
  });

  describe('trace context', function () {
    const TRACEPARENT = createContextKey('test traceparent');

    /** Copies one value between the context and a `traceparent` header, like W3C's propagator. */
    const propagator: TextMapPropagator = {
      inject(ctx, carrier, setter) {
        const value = ctx.getValue(TRACEPARENT);
        if (typeof value === 'string') setter.set(carrier, 'traceparent', value);
      },
      extract(ctx, carrier, getter) {
        const raw = getter.get(carrier, 'traceparent');
        const value = Array.isArray(raw) ? raw[0] : raw;
        return value === undefined ? ctx : ctx.setValue(TRACEPARENT, value);
      },
      fields: () => ['traceparent'],
    };

    /** The active context follows async calls, as the SDK's AsyncLocalStorage manager does. */
    class LocalContextManager implements ContextManager {
      private readonly storage = new AsyncLocalStorage<Context>();
      active(): Context {
        return this.storage.getStore() ?? ROOT_CONTEXT;
      }
      with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
        return this.storage.run(ctx, () => fn.call(thisArg, ...args));
      }
      bind<T>(_ctx: Context, target: T): T {
        return target;
      }
      enable(): this {
        return this;
      }
      disable(): this {
        this.storage.disable();
        return this;
      }
    }

    before(function () {
      expect(context.setGlobalContextManager(new LocalContextManager())).to.equal(true);
      expect(propagation.setGlobalPropagator(propagator)).to.equal(true);
    });

    after(function () {
      propagation.disable();
      context.disable();
    });

    it('hands the caller trace context to the server handler through the call metadata', async function () {
      const seen: unknown[] = [];
      const { store: database } = scriptedStore({
        getUser: async () => {
          seen.push(context.active().getValue(TRACEPARENT));
          return null;
        },
      });
      const server = await serve(database);
      const store = client({ resolve: () => `127.0.0.1:${server.port}` });
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

      await context.with(ROOT_CONTEXT.setValue(TRACEPARENT, traceparent), () => store.getUser('u1'));
      await store.getUser('u1');
      expect(seen).to.deep.equal([traceparent, undefined]);
    });
  });
});
