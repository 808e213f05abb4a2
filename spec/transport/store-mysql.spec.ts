/**
 * The store contract on MySQL/MariaDB (cluster mode), against a real MariaDB server started for
 * this file, plus what only a server database has to show: the schema's engine and collation,
 * migrations run by the CLI, row locks under concurrent writers, and a server that goes away.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../sql/migrate.js';
import type { MessageRow, Store } from '../../transport/store/port.js';
import { openMysqlStore } from '../../transport/store/mysql.js';
import { describeStoreContract } from '../contract/store.contract.js';
import { startMariadb, type MariadbService } from '../../bin/services/mariadb.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TABLES = ['users', 'refresh_tokens', 'conversations', 'members', 'messages', 'epochs'];

/** A database name no other test or run uses. */
function databaseName(tag: string): string {
  return `troupe_${tag}_${randomBytes(5).toString('hex')}`;
}

describe('MySQL store (MariaDB)', function () {
  let mariadb: MariadbService | undefined;
  /** What each test opened, closed after it whether it passed or not. */
  const opened: Array<{ destroy(): Promise<void> }> = [];

  before(async function () {
    this.timeout(120_000); // a first run may install mariadb-server
    mariadb = await startMariadb();
  });

  after(async function () {
    this.timeout(60_000);
    await mariadb?.stop();
  });

  afterEach(async function () {
    for (const handle of opened.splice(0)) await handle.destroy();
  });

  /** A store on a new, migrated database of the shared server. */
  async function migratedStore(tag: string): Promise<{ store: Store; knex: Knex }> {
    const opening = await openMysqlStore(await mariadb!.createDatabase(databaseName(tag)));
    opened.push(opening.knex);
    await migrateLatest(opening.knex);
    return opening;
  }

  describeStoreContract(
    'MariaDB',
    async () => {
      const { store, knex } = await openMysqlStore(await mariadb!.createDatabase(databaseName('contract')));
      await migrateLatest(knex);
      return { store, cleanup: () => store.close() };
    },
    { fenceable: true },
  );

  describe('schema', function () {
    it('applies the migrations once; a second run applies nothing', async function () {
      const { knex } = await openMysqlStore(await mariadb!.createDatabase(databaseName('migrate')));
      opened.push(knex);
      expect((await migrateLatest(knex)).applied).to.deep.equal(['20261127000001_init']);
      expect((await migrateLatest(knex)).applied).to.deep.equal([]);
      for (const table of TABLES) expect(await knex.schema.hasTable(table), table).to.equal(true);
    });

    it('lets several nodes migrate a fresh database at once: every one succeeds, the schema is applied once', async function () {
      this.timeout(60_000); // the losers wait for the winner's DDL, slow on a busy machine
      const url = await mariadb!.createDatabase(databaseName('race'));
      const nodes = await Promise.all([1, 2, 3, 4].map(() => openMysqlStore(url)));
      try {
        const results = await Promise.all(nodes.map(({ knex }) => migrateLatest(knex)));
        expect(results.flatMap((r) => r.applied)).to.deep.equal(['20261127000001_init']);
        const [rows] = (await nodes[0]!.knex.raw('select count(*) as n from knex_migrations')) as [Array<{ n: number }>];
        expect(Number(rows[0]!.n)).to.equal(1);
      } finally {
        await Promise.all(nodes.map(({ knex }) => knex.destroy()));
      }
    });

    it('migrates a database where an earlier race left two lock rows (which knex alone could never lock)', async function () {
      const { knex } = await openMysqlStore(await mariadb!.createDatabase(databaseName('locks')));
      opened.push(knex);
      await knex.schema.createTable('knex_migrations_lock', (t) => {
        t.increments('index').primary();
        t.integer('is_locked');
      });
      await knex('knex_migrations_lock').insert([{ is_locked: 0 }, { is_locked: 0 }]);
      expect((await migrateLatest(knex)).applied).to.deep.equal(['20261127000001_init']);
      expect(await knex('knex_migrations_lock').select('index', 'is_locked')).to.deep.equal([{ index: 1, is_locked: 0 }]);
    });

    it('creates every table as InnoDB with the utf8mb4_bin collation', async function () {
      const { knex } = await migratedStore('schema');
      const rows = (await knex('information_schema.tables')
        .whereRaw('table_schema = database()')
        .whereIn('table_name', TABLES)
        .select('table_name as name', 'engine', 'table_collation as collation')) as Array<{ name: string; engine: string; collation: string }>;
      expect(rows.map((r) => r.name).sort()).to.deep.equal([...TABLES].sort());
      for (const r of rows) expect({ table: r.name, engine: r.engine, collation: r.collation }).to.deep.equal({ table: r.name, engine: 'InnoDB', collation: 'utf8mb4_bin' });
    });

    it('troupe migrate with TROUPE_STORAGE__CLIENT=mysql applies the schema, then reports it up to date', async function () {
      this.timeout(60_000);
      const url = await mariadb!.createDatabase(databaseName('cli'));
      const first = await troupeMigrate(url);
      expect(first.stdout).to.include('applied 1 migration(s) to the MySQL database: 20261127000001_init');
      const second = await troupeMigrate(url);
      expect(second.stdout).to.include('up to date');
      const { knex } = await openMysqlStore(url);
      opened.push(knex);
      for (const table of TABLES) expect(await knex.schema.hasTable(table), table).to.equal(true);
    });
  });

  describe('concurrent writers', function () {
    /** A group with one member, through the store (the member is the sender of every message). */
    async function group(store: Store, tag: string): Promise<{ conv: string; user: string }> {
      const suffix = randomBytes(5).toString('hex');
      const user = `u-${tag}-${suffix}`;
      await store.createUser({ id: user, username: `n${tag}${suffix}`, displayName: user, passwordHash: 'h', createdAt: 1 });
      const conv = `g-${tag}-${suffix}`;
      await store.createGroup({ id: conv, type: 'group', name: tag, ownerId: user, lastSeq: 0, memberCount: 0, createdAt: 1 }, [user]);
      return { conv, user };
    }

    function message(conv: string, seq: number, from: string): MessageRow {
      const id = randomBytes(8).toString('hex');
      return { conv, seq, id: `m-${id}`, from, clientId: `c-${id}`, body: '{"text":"x"}', ts: 1_764_000_000_000 + seq };
    }

    it('lets exactly one of several writers of the next seq win each round, and the losers see conflict', async function () {
      const { store } = await migratedStore('race');
      const { conv, user } = await group(store, 'race');
      const writers = 6;
      for (let seq = 1; seq <= 5; seq++) {
        const attempts = await Promise.allSettled(
          Array.from({ length: writers }, () => store.appendMessages([{ unit: 'upstream/0', epoch: 1, messages: [message(conv, seq, user)] }])),
        );
        expect(attempts.filter((a) => a.status === 'fulfilled'), `round ${seq}`).to.have.length(1);
        for (const a of attempts) {
          if (a.status === 'rejected') expect(a.reason).to.have.property('code', 'conflict');
        }
      }
      expect((await store.getConversation(conv))?.lastSeq).to.equal(5);
      expect((await store.listMessages(conv, 0, 100)).messages.map((m) => m.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    });

    it('never stores a seq without its predecessor when writers of a unit new to the store race for consecutive seqs', async function () {
      const { store } = await migratedStore('gap');
      const { conv, user } = await group(store, 'gap');
      for (let round = 0; round < 5; round++) {
        const last = (await store.getConversation(conv))!.lastSeq;
        // A unit's first writes race for its epochs row too (InnoDB deadlocks there if the append
        // inserts that row in its transaction). The later seqs are sent first, so they reach the
        // server before the ones they continue.
        const unit = `upstream/${round}`;
        const attempts = await Promise.allSettled(
          [3, 2, 1].map((step) => store.appendMessages([{ unit, epoch: 1, messages: [message(conv, last + step, user)] }])),
        );
        for (const a of attempts) {
          if (a.status === 'rejected') expect(a.reason).to.have.property('code', 'conflict');
        }
        expect(attempts[2]?.status, `round ${round}: seq ${last + 1} continues ${last}`).to.equal('fulfilled');
        const lastSeq = (await store.getConversation(conv))!.lastSeq;
        const seqs = (await store.listMessages(conv, 0, 100)).messages.map((m) => m.seq);
        expect(seqs).to.deep.equal(Array.from({ length: lastSeq }, (_, i) => i + 1));
      }
    });

    it('never leaves a gap when writers of two conversations name them in opposite orders', async function () {
      const { store } = await migratedStore('order');
      const a = await group(store, 'a');
      const b = await group(store, 'b');
      for (let seq = 1; seq <= 5; seq++) {
        const forward = [{ unit: 'upstream/1', epoch: 1, messages: [message(a.conv, seq, a.user), message(b.conv, seq, b.user)] }];
        const backward = [
          { unit: 'upstream/2', epoch: 1, messages: [message(b.conv, seq, b.user)] },
          { unit: 'upstream/1', epoch: 1, messages: [message(a.conv, seq, a.user)] },
        ];
        const attempts = await Promise.allSettled([store.appendMessages(forward), store.appendMessages(backward)]);
        // Lock order is fixed (units, then conversations by id): a loser sees conflict, never a deadlock.
        expect(attempts.filter((x) => x.status === 'fulfilled'), `round ${seq}`).to.have.length(1);
        const lost = attempts.find((x) => x.status === 'rejected') as PromiseRejectedResult;
        expect(lost.reason).to.have.property('code', 'conflict');
      }
      for (const { conv } of [a, b]) {
        expect((await store.getConversation(conv))?.lastSeq).to.equal(5);
        expect((await store.listMessages(conv, 0, 100)).messages.map((m) => m.seq)).to.deep.equal([1, 2, 3, 4, 5]);
      }
    });
  });

  describe('connection', function () {
    it('troupe migrate exits 2 with one line naming storage.url when the URL names no database', async function () {
      this.timeout(30_000);
      const err = (await troupeMigrate(mariadb!.url).then(() => null, (e: unknown) => e)) as { code?: unknown; stderr?: string } | null;
      expect(err?.code).to.equal(2);
      expect(err?.stderr).to.match(/^troupe: storage\.url names no database[^\n]*\n$/);
    });

    it('refuses a URL that is not mysql:// or names no database with config', async function () {
      await expectTroupeRejection(openMysqlStore('postgres://root@127.0.0.1:5432/troupe'), 'config');
      await expectTroupeRejection(openMysqlStore(mariadb!.url), 'config');
      await expectTroupeRejection(openMysqlStore('not a url'), 'config');
    });

    it('answers unavailable, retriable, once the server is stopped, and cannot open a store on it', async function () {
      this.timeout(60_000);
      const own = await startMariadb();
      try {
        const url = await own.createDatabase(databaseName('stop'));
        const { store, knex } = await openMysqlStore(url, { connectTimeoutMs: 2_000, acquireTimeoutMs: 2_000 });
        opened.push(knex);
        await migrateLatest(knex);
        await store.ping();
        await own.stop();
        const err = await expectTroupeRejection(store.getConversation('g-any'), 'unavailable');
        expect(err.retriable).to.equal(true);
        await expectTroupeRejection(store.ping(), 'unavailable');
        await expectTroupeRejection(openMysqlStore(url, { connectTimeoutMs: 2_000, acquireTimeoutMs: 2_000 }), 'unavailable');
      } finally {
        await own.stop();
      }
    });
  });
});

/**
 * Runs `troupe migrate` from the sources with storage.client mysql and storage.url `url` set by
 * environment variables (and no other TROUPE_ variable); rejects when it exits non-zero.
 */
function troupeMigrate(url: string): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('TROUPE_') && name !== 'PORT') env[name] = value;
  env.TROUPE_STORAGE__CLIENT = 'mysql';
  env.TROUPE_STORAGE__URL = url;
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/troupe.ts', 'migrate'], { cwd: REPO, env });
}
