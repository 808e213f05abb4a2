/**
 * Conversations and their members in MariaDB. A direct conversation is unique per pair through
 * `direct_key` (the two ids, sorted), so two users racing to create it both get the same one.
 */
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { TroupeError } from '../../../transport/errors.js';
import { randomId } from '../../../transport/random-id.js';
import type { ConversationView, Creation } from '../setup-routes.js';
import type { Accounts } from './accounts.js';
import { isDuplicateKey } from './db.js';

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
    if (unknown !== undefined) throw new TroupeError('not_found', `members: no such user ${unknown}`);
    return { conversation: await this.insert('group', name, owner, null, [owner, ...members]), created: true };
  }

  /** The conversation `id`; `not_found` unless `self` is a member. */
  async memberView(self: string, id: string): Promise<ConversationView> {
    const view = await this.view(id);
    if (view === undefined || !view.members.includes(self)) throw new TroupeError('not_found', 'no such conversation');
    return view;
  }

  /** The ids of every conversation `userId` belongs to. */
  async idsOf(userId: string): Promise<string[]> {
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT conv_id FROM members WHERE user_id = ?', [userId]);
    return rows.map((row) => row.conv_id as string);
  }

  private async findDirect(directKey: string): Promise<ConversationView | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT id FROM conversations WHERE direct_key = ?', [directKey]);
    const row = rows[0];
    return row === undefined ? undefined : this.view(row.id as string);
  }

  private async insert(type: 'direct' | 'group', name: string | null, owner: string | null, directKey: string | null, members: readonly string[]): Promise<ConversationView> {
    const id = `c_${randomId(12)}`;
    const createdAt = Date.now();
    await this.inTransaction(async (connection) => {
      await connection.execute('INSERT INTO conversations (id, type, name, owner, direct_key, last_seq, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)', [id, type, name, owner, directKey, createdAt]);
      await connection.query('INSERT INTO members (conv_id, user_id, position) VALUES ?', [members.map((user, position) => [id, user, position])]);
    });
    const view: ConversationView = { id, type, members: [...members], memberCount: members.length, lastSeq: 0, readSeq: 0, createdAt };
    if (type === 'group') Object.assign(view, { name, owner });
    return view;
  }

  private async view(id: string): Promise<ConversationView | undefined> {
    const [convs] = await this.pool.execute<RowDataPacket[]>('SELECT type, name, owner, last_seq, created_at FROM conversations WHERE id = ?', [id]);
    const conv = convs[0];
    if (conv === undefined) return undefined;
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT user_id FROM members WHERE conv_id = ? ORDER BY position', [id]);
    const members = rows.map((row) => row.user_id as string);
    const view: ConversationView = {
      id,
      type: conv.type as 'direct' | 'group',
      members,
      memberCount: members.length,
      lastSeq: Number(conv.last_seq),
      readSeq: 0,
      createdAt: Number(conv.created_at),
    };
    if (view.type === 'group') Object.assign(view, { name: conv.name as string, owner: conv.owner as string | null });
    return view;
  }

  private async inTransaction(work: (connection: PoolConnection) => Promise<void>): Promise<void> {
    const connection = await this.pool.getConnection();
    try {
      await connection.beginTransaction();
      await work(connection);
      await connection.commit();
    } catch (err) {
      await connection.rollback().catch(() => undefined);
      throw err;
    } finally {
      connection.release();
    }
  }
}
