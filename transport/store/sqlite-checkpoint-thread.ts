/**
 * The SQLite checkpoint thread's entry (worker_threads), started by sqlite-checkpointer.ts:
 * copies the WAL back into the database file every `intervalMs` (a PASSIVE checkpoint, which
 * never waits for readers or writers), on its own connection. The write thread's connection
 * never checkpoints, so no commit waits behind the copy and its fsync; reads and commits carry
 * on meanwhile, as WAL allows.
 *
 * A PASSIVE checkpoint alone lets the WAL grow without end under steady writes: SQLite starts
 * the WAL over only when a writer finds every frame already copied, and with commits arriving
 * every few milliseconds one always lands between the copy and the next commit (measured: 540
 * MB of WAL after a few minutes of benchmark, with reads and commits slowing as it grew). So
 * once the WAL holds `restartFrames` frames, a RESTART checkpoint follows the PASSIVE one: it
 * holds the writer back while it copies the few frames written since, then the next commit
 * starts the WAL from its beginning. The WAL stays near `restartFrames` pages in size.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

interface CheckpointOptions {
  filename: string;
  intervalMs: number;
  busyTimeoutMs: number;
  restartFrames: number;
}

/** What `PRAGMA wal_checkpoint` answers. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

const port = parentPort;
if (port === null) throw new Error('sqlite-checkpoint-thread runs as a worker thread (sqlite-checkpointer.ts starts it)');
const options = workerData as CheckpointOptions;
const db = new Database(options.filename);
db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
db.pragma('wal_autocheckpoint = 0');
const checkpoint = (mode: 'PASSIVE' | 'RESTART'): CheckpointResult => (db.pragma(`wal_checkpoint(${mode})`) as CheckpointResult[])[0] as CheckpointResult;
// A failure ends the thread, which the checkpointer starts again.
const timer = setInterval(() => {
  const passive = checkpoint('PASSIVE');
  const reset = passive.log >= options.restartFrames && checkpoint('RESTART').busy === 0;
  port.postMessage({ type: 'checkpointed', frames: passive.log, reset });
}, options.intervalMs);
port.on('message', (message: { type: string }) => {
  if (message.type !== 'close') return;
  clearInterval(timer);
  db.close();
  port.close();
});
