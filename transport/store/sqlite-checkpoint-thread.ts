/**
 * The SQLite checkpoint thread's entry (worker_threads), started by sqlite-checkpointer.ts:
 * copies the WAL back into the database file every `intervalMs` (a PASSIVE checkpoint, which
 * never waits for readers or writers), on its own connection. The write thread's connection
 * never checkpoints, so no commit waits behind the copy and its fsync; reads and commits carry
 * on meanwhile, as WAL allows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

interface CheckpointOptions {
  filename: string;
  intervalMs: number;
  busyTimeoutMs: number;
}

const port = parentPort;
if (port === null) throw new Error('sqlite-checkpoint-thread runs as a worker thread (sqlite-checkpointer.ts starts it)');
const options = workerData as CheckpointOptions;
const db = new Database(options.filename);
db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
db.pragma('wal_autocheckpoint = 0');
const timer = setInterval(() => {
  // [busy, WAL frames, frames copied]: nothing to report; a failure ends the thread (restarted).
  db.pragma('wal_checkpoint(PASSIVE)');
}, options.intervalMs);
port.on('message', (message: { type: string }) => {
  if (message.type !== 'close') return;
  clearInterval(timer);
  db.close();
  port.close();
});
