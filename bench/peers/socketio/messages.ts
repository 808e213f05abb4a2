/**
 * Messages in MariaDB: stored before anyone is told, numbered per conversation.
 *
 * `append` is one transaction: lock the conversation's row (joined with the sender's membership,
 * so a non-member locks nothing and gets `not_found`), insert the message with the next seq, and
 * raise the conversation's counter. The unique key (conv, sender, client id) is the ground truth
 * of de-duplication: a re-send's insert is refused, and the stored seq and ts are read back and
 * returned (nothing changes, the transaction commits nothing). The pool's connections run READ
 * COMMITTED (see db.ts), so that read, made under the row lock, sees a first send committed a
 * moment earlier. The common case costs five round trips: begin, lock, insert, update, commit.
 */
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { TroupeError } from '../../../transport/errors.js';
import type { SendFrame } from '../client-frames.js';
import { inTransaction, isDuplicateKey } from './db.js';
import type { MessagePayload } from './events.js';

/** A stored message as the peer sends it (the `msg` event's payload). */
export type StoredMessage = MessagePayload;

export interface AppendResult {
  seq: number;
  ts: number;
  /** False for a re-send: nothing was stored and nobody is to be told again. */
  stored: boolean;
}

export interface HistoryPage {
  messages: StoredMessage[];
  more: boolean;
}

function noSuchConversation(): TroupeError {
  return new TroupeError('not_found', 'no such conversation');
}

export class Messages {
  constructor(private readonly pool: Pool) {}

  append(sender: string, frame: SendFrame): Promise<AppendResult> {
    return inTransaction(this.pool, (connection) => this.appendIn(connection, sender, frame));
  }

  /** Messages of `conv` with seq above `after`, oldest first; `not_found` unless `reader` is a member. */
  async history(reader: string, conv: string, after: number, limit: number): Promise<HistoryPage> {
    const [members] = await this.pool.execute<RowDataPacket[]>('SELECT 1 FROM members WHERE conv_id = ? AND user_id = ?', [conv, reader]);
    if (members.length === 0) throw noSuchConversation();
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      'SELECT seq, client_id, sender, body, ts FROM messages WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      [conv, after, limit + 1],
    );
    const messages = rows.slice(0, limit).map((row) => ({
      conv,
      seq: Number(row.seq),
      id: row.client_id as string,
      from: row.sender as string,
      body: JSON.parse(row.body as string) as Record<string, unknown>,
      ts: Number(row.ts),
    }));
    return { messages, more: rows.length > limit };
  }

  private async appendIn(connection: PoolConnection, sender: string, frame: SendFrame): Promise<AppendResult> {
    const [locked] = await connection.execute<RowDataPacket[]>(
      'SELECT c.last_seq FROM conversations c JOIN members m ON m.conv_id = c.id AND m.user_id = ? WHERE c.id = ? FOR UPDATE',
      [sender, frame.conv],
    );
    const conversation = locked[0];
    if (conversation === undefined) throw noSuchConversation();
    const seq = Number(conversation.last_seq) + 1;
    const ts = Date.now();
    try {
      await connection.execute('INSERT INTO messages (conv_id, seq, sender, client_id, body, ts) VALUES (?, ?, ?, ?, ?, ?)', [frame.conv, seq, sender, frame.id, JSON.stringify(frame.body), ts]);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // A re-send: the unique identity key refused it; answer with what was stored the first time.
      const [earlier] = await connection.execute<RowDataPacket[]>(
        'SELECT seq, ts FROM messages WHERE conv_id = ? AND sender = ? AND client_id = ?',
        [frame.conv, sender, frame.id],
      );
      const stored = earlier[0];
      if (stored === undefined) throw err;
      return { seq: Number(stored.seq), ts: Number(stored.ts), stored: false };
    }
    await connection.execute('UPDATE conversations SET last_seq = ? WHERE id = ?', [seq, frame.conv]);
    return { seq, ts, stored: true };
  }
}
