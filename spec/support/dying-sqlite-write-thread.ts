/**
 * A SQLite write thread that dies on cue, for the write thread's failure specs: the real service
 * (sqlite-write-service.ts), except that a write whose arguments mention `die-on-cue` ends the
 * thread with exit code 3 before it runs, the way a native crash would.
 */
import { parentPort } from 'node:worker_threads';
import { serveSqliteWrites } from '../../transport/store/sqlite-write-service.js';

const port = parentPort;
if (port === null) throw new Error('runs as a worker thread');
serveSqliteWrites({
  on: (_event, listener) =>
    port.on('message', (request: Parameters<typeof listener>[0]) => {
      if (request.type === 'write' && JSON.stringify(request.args).includes('die-on-cue')) process.exit(3);
      listener(request);
    }),
  postMessage: (reply) => port.postMessage(reply),
  close: () => port.close(),
});
