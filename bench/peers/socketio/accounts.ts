/**
 * Users of the Socket.IO peer in MariaDB, with argon2id password hashes (the argon2 package
 * Troupe itself uses, hashing on libuv's thread pool).
 *
 * The hash is real but cheap on purpose: the costs are the ones the benchmark gives Troupe
 * (bench/lib/server-process.ts: 1 MiB, one iteration), far below OWASP's, because the benchmark
 * measures messaging, not login; registering thousands of users must not measure argon2, and
 * both sides pay the same for it.
 */
import * as argon2 from 'argon2';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { TroupeError } from '../../../transport/errors.js';
import { randomId } from '../../../transport/random-id.js';
import type { RegisterRequest } from '../setup-requests.js';
import type { UserView } from '../setup-routes.js';
import { isDuplicateKey } from './db.js';

const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 } as const;

export class Accounts {
  constructor(private readonly pool: Pool) {}

  async register(request: RegisterRequest): Promise<UserView> {
    const user: UserView = { id: `u_${randomId(12)}`, username: request.username, displayName: request.displayName };
    const hash = await argon2.hash(request.password, HASH_OPTIONS);
    try {
      await this.pool.execute('INSERT INTO users (id, username, display_name, password_hash) VALUES (?, ?, ?, ?)', [user.id, user.username, user.displayName, hash]);
    } catch (err) {
      if (isDuplicateKey(err)) throw new TroupeError('conflict', 'username is taken');
      throw err;
    }
    return user;
  }

  /** The user whose password this is; `unauthenticated` for a wrong password or unknown username alike. */
  async login(username: string, password: string): Promise<UserView> {
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT id, username, display_name, password_hash FROM users WHERE username = ?', [username]);
    const row = rows[0];
    if (row === undefined || !(await argon2.verify(row.password_hash as string, password))) {
      throw new TroupeError('unauthenticated', 'wrong username or password');
    }
    return { id: row.id as string, username: row.username as string, displayName: row.display_name as string };
  }

  /** The first of `ids` that names no user, or undefined when all exist. */
  async firstUnknown(ids: readonly string[]): Promise<string | undefined> {
    if (ids.length === 0) return undefined;
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT id FROM users WHERE id IN (?)', [ids]);
    const known = new Set(rows.map((row) => row.id as string));
    return ids.find((id) => !known.has(id));
  }
}
