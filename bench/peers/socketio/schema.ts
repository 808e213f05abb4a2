/**
 * The Socket.IO peer's tables, created by the launcher in the peer's fresh database before the
 * server processes start. InnoDB for row locks and transactions, utf8mb4 with binary collation so ids and
 * usernames compare byte for byte.
 *
 * `conversations.last_seq` is the per-conversation counter: a send locks the conversation's row
 * to take the next seq. `messages` is unique on (conv, sender, client id), the protocol's message
 * identity, so a re-send is refused by the key and answered from the stored row.
 */
import type { Pool } from 'mysql2/promise';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

const STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS users (
    id VARCHAR(32) NOT NULL PRIMARY KEY,
    username VARCHAR(32) NOT NULL,
    display_name VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    UNIQUE KEY users_username (username)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS conversations (
    id VARCHAR(32) NOT NULL PRIMARY KEY,
    type ENUM('direct', 'group') NOT NULL,
    name VARCHAR(400) NULL,
    owner VARCHAR(32) NULL,
    direct_key VARCHAR(80) NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE KEY conversations_direct_key (direct_key)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS members (
    conv_id VARCHAR(32) NOT NULL,
    user_id VARCHAR(32) NOT NULL,
    position INT NOT NULL,
    PRIMARY KEY (conv_id, user_id),
    KEY members_user (user_id)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS messages (
    conv_id VARCHAR(32) NOT NULL,
    seq BIGINT NOT NULL,
    sender VARCHAR(32) NOT NULL,
    client_id VARCHAR(64) NOT NULL,
    body TEXT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (conv_id, seq),
    UNIQUE KEY messages_identity (conv_id, sender, client_id)
  ) ${TABLE_OPTIONS}`,
];

export async function createSchema(pool: Pool): Promise<void> {
  for (const statement of STATEMENTS) await pool.query(statement);
}
