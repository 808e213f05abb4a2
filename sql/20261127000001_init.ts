/**
 * The initial schema (docs/architecture.md, "Store"), valid on SQLite and MySQL/MariaDB.
 *
 * Sizes: ids are opaque strings of at most 40 characters (made by the caller), usernames at
 * most 64 (the protocol allows 32), client message ids at most 64 (as in the protocol).
 * Every indexed key stays far below InnoDB's 3072-byte limit in utf8mb4. On MySQL the tables
 * use the binary collation so that comparisons match SQLite's (case-sensitive ids and
 * usernames on both databases).
 *
 * Times are bigint milliseconds since the epoch. Foreign keys tie members, messages and
 * refresh tokens to their parents; SQLite enforces them because the store opens it with
 * `foreign_keys = ON` (a connection setting, not part of the schema).
 */
import type { Knex } from 'knex';
import { sqlDialect } from '../transport/store/knex-dialect.js';

const ID = 40;

export async function up(knex: Knex): Promise<void> {
  const mysql = sqlDialect(knex) === 'mysql';
  /** MySQL-only table options; SQLite has no engines or collations to choose. */
  const tableDefaults = (t: Knex.CreateTableBuilder): void => {
    if (!mysql) return;
    t.engine('InnoDB');
    t.charset('utf8mb4');
    t.collate('utf8mb4_bin');
  };

  await knex.schema.createTable('users', (t) => {
    tableDefaults(t);
    t.string('id', ID).notNullable().primary();
    t.string('username', 64).notNullable().unique({ indexName: 'users_username_uq' });
    t.string('display_name', 255).notNullable();
    t.string('password_hash', 255).notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('refresh_tokens', (t) => {
    tableDefaults(t);
    t.specificType('token_hash', 'char(64)').notNullable().primary();
    t.string('user_id', ID).notNullable().references('id').inTable('users').withKeyName('refresh_tokens_user_fk');
    t.string('family_id', ID).notNullable().index('refresh_tokens_family_ix');
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('used_at').nullable();
    t.boolean('revoked').notNullable().defaultTo(false);
  });

  await knex.schema.createTable('conversations', (t) => {
    tableDefaults(t);
    t.string('id', ID).notNullable().primary();
    t.string('type', 16).notNullable();
    t.string('name', 255).nullable();
    t.string('owner_id', ID).nullable();
    // Both user ids, sorted and joined: one direct conversation per pair, even under races.
    // NULL for groups (both databases allow many NULLs in a unique index).
    t.string('direct_key', 2 * ID + 1).nullable().unique({ indexName: 'conversations_direct_key_uq' });
    t.bigInteger('last_seq').notNullable().defaultTo(0);
    t.integer('member_count').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    // Time of the newest message (creation time until then): orders a user's conversations.
    t.bigInteger('last_activity_at').notNullable();
  });

  await knex.schema.createTable('members', (t) => {
    tableDefaults(t);
    // Increases with every join: the lowest id of a conversation is its longest-standing member.
    t.bigIncrements('id');
    t.string('conv_id', ID).notNullable().references('id').inTable('conversations').withKeyName('members_conv_fk');
    t.string('user_id', ID).notNullable().references('id').inTable('users').withKeyName('members_user_fk');
    t.bigInteger('read_seq').notNullable().defaultTo(0);
    t.bigInteger('joined_at').notNullable();
    t.unique(['conv_id', 'user_id'], { indexName: 'members_conv_user_uq' });
    t.index(['user_id'], 'members_user_ix');
  });

  await knex.schema.createTable('messages', (t) => {
    tableDefaults(t);
    t.string('conv_id', ID).notNullable().references('id').inTable('conversations').withKeyName('messages_conv_fk');
    t.bigInteger('seq').notNullable();
    t.string('id', ID).notNullable().unique({ indexName: 'messages_id_uq' });
    t.string('sender', ID).notNullable();
    t.string('client_id', 64).notNullable();
    // The body's JSON text; the protocol caps it at 8 KiB, MySQL's TEXT holds 64 KiB.
    t.text('body').notNullable();
    t.bigInteger('ts').notNullable();
    t.primary(['conv_id', 'seq']);
    t.unique(['conv_id', 'sender', 'client_id'], { indexName: 'messages_client_uq' });
  });

  // Newest fencing epoch seen per placement unit (e.g. `upstream/3`).
  await knex.schema.createTable('epochs', (t) => {
    tableDefaults(t);
    t.string('unit', 128).notNullable().primary();
    t.bigInteger('epoch').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['epochs', 'messages', 'members', 'conversations', 'refresh_tokens', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
