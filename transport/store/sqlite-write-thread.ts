/**
 * The SQLite write thread's entry (worker_threads), started by sqlite-writer.ts: serves the
 * writes of embedded mode's store (sqlite-write-service.ts) over its channel to the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { serveSqliteWrites, type WritePort } from './sqlite-write-service.js';

if (parentPort === null) throw new Error('sqlite-write-thread runs as a worker thread (sqlite-writer.ts starts it)');
serveSqliteWrites(parentPort as unknown as WritePort);
