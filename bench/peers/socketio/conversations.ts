/**
 * Conversations and their members in MariaDB. A direct conversation is unique per pair through
 * `direct_key` (the two ids, sorted), so two users racing to create it both get the same one.
 * `members.position` keeps the join order the protocol lists members in.
 */
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { TroupeError } from '../../../transport/errors.js';
import { randomId } from '../../../transport/random-id.js';
import { conversationView, type ConversationFields, type ConversationView, type Creation } from '../setup-routes.js';
import type { Accounts } from './accounts.js';
import { inTransaction, isDuplicateKey } from './db.js';

export interface Membership {
  id: string;
  lastSeq: number;
}

export class Conversations {
  constructor(
    private readonly pool: Pool,
    private readonly accounts: Accounts,
  ) {}

  async createDirect(self: string, peer: string): Promise<Creation> {
    if ((await this.accounts.firstUnknown([peer])) !== undefined) throw new TroupeError('not_found', 'peer: no such user');
    const directKey = [self, peer].sort().join(':');
    const existing = await this.findDirect(directKey);
    if (existing !== undefined) return { conversation: existing, created: false };
    try {
      return { conversation: await this.insert('direct', null, null, directKey, [self, peer]), created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // The peer created it at the same moment: theirs is ours.
      const raced = await this.findDirect(directKey);
      if (raced === undefined) throw err;
      return { conversation: raced, created: false };
    }
  }

  async createGroup(owner: string, name: string, members: readonly string[]): Promise<Creation> {
    const unknown = await this.accounts.firstUnknown(members);
    if (unknown !== undefined) throw new TroupeError('not_found', `members: no such user ${unknown.slice(0, 64)}`);
    return { conversation: await this.insert('group', name, owner, null, [owner, ...members]), created: true };
  }

  /** The conversation `id`; `not_found` unless `self` is a member. */
  async memberView(self: string, id: string): Promise<ConversationView> {
    const fields = await this.fields(this.pool, id);
    if (fields === undefined || !fields.members.includes(self)) throw noSuchConversation();
    return conversationView(fields);
  }

  /**
   * Adds users to a group (see SetupBackend.addMembers), in a transaction holding the
   * conversation's row lock, so concurrent additions get distinct positions. Returns the group
   * and the users who were not members before.
   */
  async addMembers(self: string, id: string, users: readonly string[]): Promise<{ conversation: ConversationView; added: string[] }> {
    return inTransaction(this.pool, async (connection) => {
      const [locked] = await connection.execute<RowDataPacket[]>('SELECT id FROM conversations WHERE id = ? FOR UPDATE', [id]);
      const fields = locked.length === 0 ? undefined : await this.fields(connection, id);
      if (fields === undefined || !fields.members.includes(self)) throw noSuchConversation();
      if (fields.type === 'direct') throw new TroupeError('invalid_argument', 'members: a direct conversation has no members to change');
      if (fields.owner !== self) throw new TroupeError('forbidden', 'only the owner may add members');
      const unknown = await this.accounts.firstUnknown(users);
      if (unknown !== undefined) throw new TroupeError('not_found', `members: no such user ${unknown.slice(0, 64)}`);
      const present = new Set(fields.members);
      const added = users.filter((user) => !present.has(user));
      if (added.length > 0) {
        await connection.query('INSERT INTO members (conv_id, user_id, position) VALUES ?', [added.map((user, i) => [id, user, fields.members.length + i])]);
      }
      return { conversation: conversationView({ ...fields, members: [...fields.members, ...added] }), added };
    });
  }

  /** Every conversation `userId` belongs to, with its newest seq. */
  async membershipsOf(userId: string): Promise<Membership[]> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      'SELECT m.conv_id, c.last_seq FROM members m JOIN conversations c ON c.id = m.conv_id WHERE m.user_id = ?',
      [userId],
    );
    return rows.map((row) => ({ id: row.conv_id as string, lastSeq: Number(row.last_seq) }));
  }

  private async findDirect(directKey: string): Promise<ConversationView | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT id FROM conversations WHERE direct_key = ?', [directKey]);
    const row = rows[0];
    if (row === undefined) return undefined;
    const fields = await this.fields(this.pool, row.id as string);
    return fields === undefined ? undefined : conversationView(fields);
  }

  private async insert(type: 'direct' | 'group', name: string | null, owner: string | null, directKey: string | null, members: readonly string[]): Promise<ConversationView> {
    const fields: ConversationFields = { id: `c_${randomId(12)}`, type, name, owner, members, lastSeq: 0, createdAt: Date.now() };
    await inTransaction(this.pool, async (connection) => {
      await connection.execute('INSERT INTO conversations (id, type, name, owner, direct_key, last_seq, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)', [fields.id, type, name, owner, directKey, fields.createdAt]);
      await connection.query('INSERT INTO members (conv_id, user_id, position) VALUES ?', [members.map((user, position) => [fields.id, user, position])]);
    });
    return conversationView(fields);
  }

  /** The conversation's row and members in join order, through `on` (the pool, or a transaction's connection). */
  private async fields(on: Pool | PoolConnection, id: string): Promise<ConversationFields | undefined> {
    const [convs] = await on.execute<RowDataPacket[]>('SELECT type, name, owner, last_seq, created_at FROM conversations WHERE id = ?', [id]);
    const conv = convs[0];
    if (conv === undefined) return undefined;
    const [rows] = await on.execute<RowDataPacket[]>('SELECT user_id FROM members WHERE conv_id = ? ORDER BY position', [id]);
    return {
      id,
      type: conv.type as 'direct' | 'group',
      name: conv.name as string | null,
      owner: conv.owner as string | null,
      members: rows.map((row) => row.user_id as string),
      lastSeq: Number(conv.last_seq),
      createdAt: Number(conv.created_at),
    };
  }
}

function noSuchConversation(): TroupeError {
  return new TroupeError('not_found', 'no such conversation');
}
