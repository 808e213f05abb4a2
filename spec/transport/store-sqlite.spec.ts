/**
 * The store contract on SQLite (embedded mode), plus what only a file database has to show:
 * its connection settings, migrations, and data that outlives the process's handle on it.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../sql/migrate.js';
import { TroupeError } from '../../transport/errors.js';
import { openSqliteStore, type SqliteStore } from '../../transport/store/sqlite.js';
import { describeStoreContract } from '../contract/store.contract.js';
import { waitFor } from '../support/wait-for.js';

describe('SQLite store', function () {
  let dir: string;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'troupe-store-sqlite-'));
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  describeStoreContract(
    'SQLite',
    async () => {
      const { store, knex } = await openSqliteStore(join(dir, 'contract', 'troupe.db'));
      await migrateLatest(knex);
      return { store, cleanup: () => store.close() };
    },
    { fenceable: true },
  );

  it('opens the file with WAL, synchronous FULL, foreign keys and a busy timeout', async function () {
    const { store, knex } = await openSqliteStore(join(dir, 'pragmas.db'), { busyTimeoutMs: 1234 });
    try {
      const pragma = async (name: string): Promise<unknown> => {
        const rows = (await knex.raw(`pragma ${name}`)) as Array<Record<string, unknown>>;
        return Object.values(rows[0] ?? {})[0];
      };
      expect(await pragma('journal_mode')).to.equal('wal');
      expect(await pragma('synchronous')).to.equal(2); // FULL
      expect(await pragma('foreign_keys')).to.equal(1);
      expect(await pragma('busy_timeout')).to.equal(1234);
    } finally {
      await store.close();
    }
  });

  it('applies the migrations once; a second run applies nothing', async function () {
    const { store, knex } = await openSqliteStore(join(dir, 'migrate.db'));
    try {
      expect((await migrateLatest(knex)).applied).to.deep.equal(['20261127000001_init']);
      expect((await migrateLatest(knex)).applied).to.deep.equal([]);
      for (const table of ['users', 'refresh_tokens', 'conversations', 'members', 'messages', 'epochs']) {
        expect(await knex.schema.hasTable(table), table).to.equal(true);
      }
    } finally {
      await store.close();
    }
  });

  it('keeps users, conversations, messages, cursors and epochs across closing and reopening the file', async function () {
    const file = join(dir, 'restart', 'troupe.db');
    const first = await openSqliteStore(file);
    await migrateLatest(first.knex);
    const user = { id: 'u-restart', username: 'restart', displayName: 'Restart', passwordHash: 'h', createdAt: 1 };
    await first.store.createUser(user);
    const conv = { id: 'g-restart', type: 'group' as const, name: 'g', ownerId: user.id, lastSeq: 0, memberCount: 1, createdAt: 2 };
    await first.store.createGroup(conv, [user.id]);
    const message = { conv: conv.id, seq: 1, id: 'm-restart', from: user.id, clientId: 'c1', body: '{"text":"kept"}', ts: 3 };
    await first.store.appendMessages([{ unit: 'upstream/0', epoch: 7, messages: [message] }]);
    await first.store.advanceReadSeq(conv.id, user.id, 1, { unit: 'upstream/0', epoch: 7 });
    await first.store.close();

    const second = await openSqliteStore(file);
    try {
      expect((await migrateLatest(second.knex)).applied).to.deep.equal([]);
      expect(await second.store.getUser(user.id)).to.deep.equal(user);
      expect(await second.store.getConversation(conv.id)).to.deep.equal({ ...conv, lastSeq: 1 });
      expect((await second.store.listMessages(conv.id, 0, 10)).messages).to.deep.equal([message]);
      expect((await second.store.getMember(conv.id, user.id))?.readSeq).to.equal(1);
      const stale = second.store.appendMessages([{ unit: 'upstream/0', epoch: 6, messages: [] }]);
      expect(await stale.then(() => null, (err: unknown) => err)).to.be.instanceOf(TroupeError).with.property('code', 'stale_epoch');
    } finally {
      await second.store.close();
    }
  });

  it('rejects with unavailable when the file cannot be opened', async function () {
    // A directory is not a database file.
    const err = await openSqliteStore(dir).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(TroupeError).with.property('code', 'unavailable');
    expect((err as TroupeError).retriable).to.equal(true);
  });

  describe('the write thread', function () {
    const user = (name: string) => ({ id: `u-${name}`, username: name, displayName: name, passwordHash: 'h', createdAt: 1 });

    it('refuses the writes a dying thread held with unavailable, and runs the next write on a fresh thread', async function () {
      const entry = new URL('../support/dying-sqlite-write-thread.ts', import.meta.url);
      const { store, knex } = await openSqliteStore(join(dir, 'dying.db'), { writeThreadEntry: entry });
      try {
        await migrateLatest(knex);
        await store.createUser(user('before'));
        const dying = store.createUser(user('die-on-cue'));
        // Sent after the cue: the thread dies before it takes this one.
        const queued = store.createUser(user('queued-behind'));
        for (const refused of [dying, queued]) {
          const err = await refused.then(() => null, (e: unknown) => e);
          expect(err).to.be.instanceOf(TroupeError).with.property('code', 'unavailable');
          expect((err as TroupeError).retriable).to.equal(true);
          expect((err as TroupeError).message).to.include('exited with code 3');
        }
        await store.createUser(user('after'));
        expect(store.writeThreadRestarts).to.equal(1);
        for (const name of ['before', 'after']) expect(await store.getUserByUsername(name), name).to.not.equal(null);
        expect(await store.getUserByUsername('queued-behind')).to.equal(null);
        expect(await store.getUserByUsername('die-on-cue')).to.equal(null);
      } finally {
        await store.close();
      }
    });

    it('answers the writes in flight before it closes', async function () {
      const { store, knex } = await openSqliteStore(join(dir, 'closing.db'));
      await migrateLatest(knex);
      const writes = Array.from({ length: 20 }, (_, i) => store.createUser(user(`closing-${i}`)));
      await store.close();
      await Promise.all(writes);
      const reopened = await openSqliteStore(join(dir, 'closing.db'));
      try {
        expect(await reopened.store.getUsers(Array.from({ length: 20 }, (_, i) => `u-closing-${i}`))).to.have.length(20);
      } finally {
        await reopened.store.close();
      }
    });

    it('leaves the WAL to the checkpoint thread: the database file takes the commits while neither connection checkpoints', async function () {
      const file = join(dir, 'checkpoint', 'troupe.db');
      const { store, knex } = await openSqliteStore(file, { checkpointIntervalMs: 50 });
      try {
        await migrateLatest(knex);
        // The reading connection never checkpoints on its own.
        expect(Object.values(((await knex.raw('pragma wal_autocheckpoint')) as Array<Record<string, unknown>>)[0] ?? {})[0]).to.equal(0);
        const before = (await stat(file)).size;
        const owner = user('checkpoint-owner');
        await store.createUser(owner);
        const conv = { id: 'g-checkpoint', type: 'group' as const, name: 'g', ownerId: owner.id, lastSeq: 0, memberCount: 1, createdAt: 2 };
        await store.createGroup(conv, [owner.id]);
        const body = JSON.stringify({ text: 'x'.repeat(500) });
        for (let batch = 0; batch < 20; batch++) {
          const messages = Array.from({ length: 100 }, (_, i) => {
            const seq = batch * 100 + i + 1;
            return { conv: conv.id, seq, id: `m-${seq}`, from: owner.id, clientId: `c${seq}`, body, ts: seq };
          });
          await store.appendMessages([{ unit: 'upstream/0', epoch: 1, messages }]);
        }
        await waitFor(async () => (await stat(file)).size > before + 500_000, { message: 'the WAL was never copied into the database file' });
      } finally {
        await store.close();
      }
    });

    /** Fills a fresh store's WAL with `batches` commits of 100 messages of 500 characters each. */
    async function fillWal(store: SqliteStore, knex: Knex, name: string, batches: number): Promise<void> {
      await migrateLatest(knex);
      const owner = user(`${name}-owner`);
      await store.createUser(owner);
      const conv = { id: `g-${name}`, type: 'group' as const, name: 'g', ownerId: owner.id, lastSeq: 0, memberCount: 1, createdAt: 2 };
      await store.createGroup(conv, [owner.id]);
      const body = JSON.stringify({ text: 'x'.repeat(500) });
      for (let batch = 0; batch < batches; batch++) {
        const messages = Array.from({ length: 100 }, (_, i) => {
          const seq = batch * 100 + i + 1;
          return { conv: conv.id, seq, id: `m-${name}-${seq}`, from: owner.id, clientId: `c${seq}`, body, ts: seq };
        });
        await store.appendMessages([{ unit: 'upstream/0', epoch: 1, messages }]);
      }
    }

    it('starts the WAL over once it holds walRestartFrames frames, so steady writes cannot grow it without end', async function () {
      const { store, knex } = await openSqliteStore(join(dir, 'wal-reset.db'), { checkpointIntervalMs: 20, walRestartFrames: 10 });
      try {
        await fillWal(store, knex, 'wal-reset', 20);
        await waitFor(() => store.walCheckpoints.resets >= 1, { message: 'the checkpoint thread never restarted the WAL' });
      } finally {
        await store.close();
      }
    });

    it('leaves a WAL below walRestartFrames to PASSIVE checkpoints alone', async function () {
      const { store, knex } = await openSqliteStore(join(dir, 'wal-small.db'), { checkpointIntervalMs: 20, walRestartFrames: 1_000_000 });
      try {
        await fillWal(store, knex, 'wal-small', 20);
        const seen = store.walCheckpoints.checkpoints;
        await waitFor(() => store.walCheckpoints.checkpoints >= seen + 3, { message: 'the checkpoint thread stopped checkpointing' });
        expect(store.walCheckpoints.frames, 'the WAL held frames when it was checkpointed').to.be.greaterThan(0);
        expect(store.walCheckpoints.resets).to.equal(0);
      } finally {
        await store.close();
      }
    });

    it('starts a dead checkpoint thread again, and keeps serving reads and writes meanwhile', async function () {
      const entry = new URL('../support/dying-sqlite-checkpoint-thread.ts', import.meta.url);
      const { store, knex } = await openSqliteStore(join(dir, 'dying-checkpoint.db'), { checkpointThreadEntry: entry });
      try {
        await migrateLatest(knex);
        await waitFor(() => store.checkpointThreadRestarts >= 2, { message: 'the checkpoint thread was not started again' });
        await store.createUser(user('checkpointless'));
        expect(await store.getUserByUsername('checkpointless')).to.not.equal(null);
      } finally {
        await store.close();
      }
    });

    it('refuses writes after close with closed', async function () {
      const { store, knex } = await openSqliteStore(join(dir, 'closed-write.db'));
      await migrateLatest(knex);
      await store.close();
      const err = await store.createUser(user('late')).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(TroupeError).with.property('code', 'closed');
    });
  });

  it('rejects calls after close with closed', async function () {
    const { store } = await openSqliteStore(join(dir, 'closed.db'));
    await store.close();
    const err = await store.ping().then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(TroupeError).with.property('code', 'closed');
  });
});
